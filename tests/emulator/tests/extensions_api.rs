//! The Extensions API's answers (the RIE's status codes and error types), with the test
//! acting as the extension over raw HTTP on loopback.

mod common;

use common::{WAIT, fixture, http, register};

use lambda_emulator::{Emulator, Endpoint, Options, Outcome};

#[test]
fn registration_closes_at_the_runtimes_first_next() {
    let emu = Emulator::start(Options::new([fixture("function.sh")])).unwrap();
    emu.wait_ready(WAIT).unwrap();
    let answer = register(emu.addr(), "late", r#"{"events":["INVOKE"]}"#);
    assert_eq!(answer.status, 403);
    assert_eq!(answer.error_type(), "Extension.RegistrationClosed");
    assert!(emu.extensions().is_empty());
    let call = emu
        .calls()
        .into_iter()
        .find(|c| c.endpoint == Endpoint::ExtensionRegister)
        .unwrap();
    assert_eq!(call.status, Some(403));
}

#[test]
fn the_register_and_event_calls_answer_as_the_rie_does() {
    // No process: the test is the function, and registration stays open.
    let emu = Emulator::start(Options::external()).unwrap();
    let addr = emu.addr();
    let check = |answer: common::Answer, status: u16, error_type: &str| {
        assert_eq!(
            (answer.status, answer.error_type()),
            (status, error_type.to_owned()),
            "{}",
            String::from_utf8_lossy(&answer.body)
        );
    };
    check(
        register(addr, "", "{}"),
        403,
        "Extension.InvalidExtensionName",
    );
    check(register(addr, "a", "{"), 403, "InvalidRequestFormat");
    check(
        register(addr, "a", r#"{"events":[],"configurationKeys":["k"]}"#),
        403,
        "InvalidRequestFormat",
    );
    check(
        register(addr, "a", r#"{"events":["BOOT"]}"#),
        403,
        "Extension.InvalidEventType",
    );
    // Internal extensions may not take SHUTDOWN.
    check(
        register(addr, "a", r#"{"events":["INVOKE","SHUTDOWN"]}"#),
        403,
        "Extension.InvalidEventType",
    );
    let ok = register(addr, "a", r#"{"events":["INVOKE"]}"#);
    assert_eq!(ok.status, 200);
    let id = ok.header("lambda-extension-identifier").unwrap().to_owned();
    assert_eq!(id.len(), 36);
    assert!(ok.json().get("accountId").is_none());
    check(
        register(addr, "a", r#"{"events":[]}"#),
        403,
        "Extension.InvalidExtensionState",
    );
    for n in 1..10 {
        assert_eq!(register(addr, &format!("x{n}"), "{}").status, 200);
    }
    check(
        register(addr, "x10", "{}"),
        403,
        "Extension.TooManyExtensions",
    );

    let next = "/2020-01-01/extension/event/next";
    check(
        http(addr, "GET", next, &[], b""),
        403,
        "Extension.MissingExtensionIdentifier",
    );
    check(
        http(
            addr,
            "GET",
            next,
            &[("Lambda-Extension-Identifier", "x")],
            b"",
        ),
        403,
        "Extension.InvalidExtensionIdentifier",
    );
    let unknown = "00000000-0000-4000-8000-000000000000";
    check(
        http(
            addr,
            "GET",
            next,
            &[("Lambda-Extension-Identifier", unknown)],
            b"",
        ),
        403,
        "Extension.UnknownExtensionIdentifier",
    );
    let exit_error = "/2020-01-01/extension/exit/error";
    check(
        http(
            addr,
            "POST",
            exit_error,
            &[("Lambda-Extension-Identifier", &id)],
            b"",
        ),
        403,
        "Extension.MissingHeader",
    );
    let posted = http(
        addr,
        "POST",
        exit_error,
        &[
            ("Lambda-Extension-Identifier", &id),
            ("Lambda-Extension-Function-Error-Type", "Extension.Broken"),
        ],
        br#"{"errorMessage":"broken"}"#,
    );
    assert_eq!(posted.status, 202);
    let errors = emu.extension_errors();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].extension, "a");
    assert_eq!(errors[0].endpoint, Endpoint::ExtensionExitError);
    assert_eq!(errors[0].error_type, "Extension.Broken");
    // After an error post, nothing more succeeds for it.
    check(
        http(
            addr,
            "GET",
            next,
            &[("Lambda-Extension-Identifier", &id)],
            b"",
        ),
        403,
        "Extension.InvalidExtensionState",
    );
    let logs = http(addr, "PUT", "/2020-08-15/logs", &[], b"{}");
    assert_eq!(
        (logs.status, logs.error_type()),
        (202, "Logs.NotSupported".to_owned())
    );
    assert_eq!(
        http(addr, "GET", "/2020-01-01/nothing", &[], b"").status,
        404
    );
}

#[test]
fn an_extension_init_error_fails_init() {
    let emu = Emulator::start(Options::external()).unwrap();
    let addr = emu.addr();
    let ok = register(addr, "failing", r#"{"events":["INVOKE"]}"#);
    let id = ok.header("lambda-extension-identifier").unwrap().to_owned();
    let posted = http(
        addr,
        "POST",
        "/2020-01-01/extension/init/error",
        &[
            ("Lambda-Extension-Identifier", &id),
            (
                "Lambda-Extension-Function-Error-Type",
                "Extension.ConfigInvalid",
            ),
        ],
        b"",
    );
    assert_eq!(posted.status, 202);
    let err = emu.wait_ready(WAIT).unwrap_err();
    assert!(err.to_string().contains("init error"), "{err}");
    let result = emu.invoke(b"{}").unwrap();
    assert_eq!(result.status, 502);
    assert_eq!(result.outcome, Outcome::InitError);
    assert_eq!(result.error_type().as_deref(), Some("Extension.InitError"));
    assert!(result.body_str().contains("Extension.ConfigInvalid"));
}
