//! `aws_lambda_events` types as a plain `Runner`'s `Event` and `Return`: one binary, four
//! functions, chosen the way Lambda names a function's handler (`_HANDLER`, the function's
//! "handler" setting): `s3` (an S3 notification: the objects it names), `sns` (SNS messages:
//! their subjects and texts), `eventbridge` (an EventBridge event: answered with a new
//! `EventBridgeEvent`, a `#[non_exhaustive]` type, built with `Default` and field assignment)
//! and `schedule` (a scheduled event: when it fired).
//!
//! ```text
//! cargo run -p lambda-emulator -- --env _HANDLER=s3 --event examples/events/s3.json -- cargo run -q -p examples --bin aws-events
//! ```

use aws_lambda_events::cloudwatch_events::CloudWatchEvent;
use aws_lambda_events::eventbridge::EventBridgeEvent;
use aws_lambda_events::s3::S3Event;
use aws_lambda_events::sns::SnsEvent;
use lambda_runtime_types_tokio::{LambdaEvent, Runner};
use serde_json::{Value, json};

/// `s3`: `s3://bucket/key (size bytes)` for every object of the notification.
struct S3Objects;

impl<'a> Runner<'a, (), S3Event, Vec<String>> for S3Objects {
    async fn setup(_region: &'a str) -> anyhow::Result<()> {
        Ok(())
    }

    async fn run(_: &'a (), event: LambdaEvent<'a, S3Event>) -> anyhow::Result<Vec<String>> {
        let objects = event.event.records.iter().map(|r| {
            let (bucket, object) = (&r.s3.bucket, &r.s3.object);
            format!(
                "s3://{}/{} ({} bytes, {})",
                bucket.name.as_deref().unwrap_or_default(),
                object.key.as_deref().unwrap_or_default(),
                object.size.unwrap_or_default(),
                r.event_name.as_deref().unwrap_or_default()
            )
        });
        Ok(objects.collect())
    }
}

/// `sns`: `subject: message` for every message.
struct SnsMessages;

impl<'a> Runner<'a, (), SnsEvent, Vec<String>> for SnsMessages {
    async fn setup(_region: &'a str) -> anyhow::Result<()> {
        Ok(())
    }

    async fn run(_: &'a (), event: LambdaEvent<'a, SnsEvent>) -> anyhow::Result<Vec<String>> {
        let messages = event.event.records.iter().map(|r| {
            let subject = r.sns.subject.as_deref().unwrap_or("(no subject)");
            format!("{subject}: {}", r.sns.message)
        });
        Ok(messages.collect())
    }
}

/// `eventbridge`: answers an event with the event it would put on the bus next.
struct Bridge;

impl<'a> Runner<'a, (), EventBridgeEvent<Value>, EventBridgeEvent<Value>> for Bridge {
    async fn setup(_region: &'a str) -> anyhow::Result<()> {
        Ok(())
    }

    async fn run(
        _: &'a (),
        event: LambdaEvent<'a, EventBridgeEvent<Value>>,
    ) -> anyhow::Result<EventBridgeEvent<Value>> {
        let received = event.event;
        // `#[non_exhaustive]`: no struct literal outside its crate; `Default`, then the fields.
        let mut answer = EventBridgeEvent::<Value>::default();
        answer.source = "com.example.orders".into();
        answer.detail_type = format!("{} handled", received.detail_type);
        answer.region = Some(event.region.to_string());
        answer.resources = received.id.map(|id| vec![id]);
        answer.detail = json!({ "from": received.source, "detail": received.detail });
        Ok(answer)
    }
}

/// `schedule`: the rule that fired, and when.
struct Schedule;

impl<'a> Runner<'a, (), CloudWatchEvent, String> for Schedule {
    async fn setup(_region: &'a str) -> anyhow::Result<()> {
        Ok(())
    }

    async fn run(_: &'a (), event: LambdaEvent<'a, CloudWatchEvent>) -> anyhow::Result<String> {
        let e = event.event;
        let rule = e.resources.first().map_or("(no rule)", String::as_str);
        Ok(format!(
            "{} from {rule} at {}",
            e.detail_type.as_deref().unwrap_or_default(),
            e.time.to_rfc3339()
        ))
    }
}

pub fn main() -> anyhow::Result<()> {
    use lambda_runtime_types_tokio::exec_tokio;
    match std::env::var("_HANDLER").as_deref() {
        Ok("s3") => exec_tokio::<_, _, S3Objects, _>(),
        Ok("sns") => exec_tokio::<_, _, SnsMessages, _>(),
        Ok("eventbridge") => exec_tokio::<_, _, Bridge, _>(),
        Ok("schedule") => exec_tokio::<_, _, Schedule, _>(),
        other => anyhow::bail!("_HANDLER is {other:?}; expected s3, sns, eventbridge or schedule"),
    }
}
