//! The seed's custom Event and Return types example.

#[derive(serde::Deserialize, Debug)]
struct Event {
    #[serde(flatten)]
    attributes: std::collections::HashMap<String, serde_json::Value>,
}

#[derive(serde::Serialize, Debug)]
struct Return {
    data: std::borrow::Cow<'static, str>,
}

struct Runner;

impl<'a> lambda_runtime_types_tokio::Runner<'a, (), Event, Return> for Runner {
    async fn run(
        _shared: &'a (),
        event: lambda_runtime_types_tokio::LambdaEvent<'a, Event>,
    ) -> anyhow::Result<Return> {
        Ok(Return {
            data: event
                .event
                .attributes
                .get("test")
                .and_then(|a| a.as_str())
                .map(ToOwned::to_owned)
                .map(Into::into)
                .unwrap_or_else(|| "none".into()),
        })
    }

    async fn setup(_region: &'a str) -> anyhow::Result<()> {
        Ok(())
    }
}

pub fn main() -> anyhow::Result<()> {
    lambda_runtime_types_tokio::exec_tokio::<_, _, Runner, _>()
}
