//! `dynamodb-stream`, shared by `dynamodb-stream-tokio` and `dynamodb-stream-smol`: a consumer of
//! an `orders` table's stream (view type `NEW_AND_OLD_IMAGES`) that acts on each change of an
//! order's status: a new order is acknowledged, a paid one gets its receipt, a shipped one its
//! tracking mail, a removed one is archived (all logged here). The images are read as [`Order`]s
//! with `serde_dynamo`, the crate `aws_lambda_events` types them with.
//!
//! A change fails if its image is not an `Order` (an `Id` that is not a number, a `Status` this
//! consumer does not know yet: a writer deployed before it), and so does shipping an order that
//! was cancelled. The stream is ordered, so the first failure stops the batch: it and every later
//! record are reported, and Lambda retries from the lowest sequence number reported.

use lambda_runtime_types::batch::{BatchRunner, DynamoDb, Record, Undecoded};

/// An item of the `orders` table.
#[derive(Debug, serde::Deserialize)]
pub struct Order {
    /// Its key.
    #[serde(rename = "Id")]
    pub id: u64,
    /// Where it stands.
    #[serde(rename = "Status")]
    pub status: Status,
}

/// An order's status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Placed, not paid.
    New,
    /// Paid, not shipped.
    Paid,
    /// On its way.
    Shipped,
    /// Called off.
    Cancelled,
}

/// The consumer.
pub struct OrderChanges;

impl<'a> BatchRunner<'a, ()> for OrderChanges {
    type Source = DynamoDb;
    /// DynamoDB stream records have no body: the change is in `record.change`.
    type Body = Undecoded;

    async fn setup(_region: &'a str) -> anyhow::Result<()> {
        Ok(())
    }

    async fn process(
        _shared: &'a (),
        record: Record<'_, DynamoDb, Undecoded>,
    ) -> anyhow::Result<()> {
        let change = record.record.change;
        let image = |item: serde_dynamo::Item, which: &str| {
            serde_dynamo::from_item::<_, Order>(item)
                .map_err(|e| anyhow::anyhow!("the {which} is not an order: {e}"))
        };
        match record.record.event_name.as_str() {
            "INSERT" => {
                let order = image(change.new_image, "new image")?;
                log::info!(
                    "order {}: placed ({:?}), acknowledged",
                    order.id,
                    order.status
                );
            }
            "MODIFY" => {
                let (old, new) = (
                    image(change.old_image, "old image")?,
                    image(change.new_image, "new image")?,
                );
                anyhow::ensure!(
                    !(old.status == Status::Cancelled && new.status == Status::Shipped),
                    "order {} was cancelled: it must not be shipped",
                    new.id
                );
                match (old.status, new.status) {
                    (Status::New, Status::Paid) => {
                        log::info!("order {}: paid, receipt sent", new.id)
                    }
                    (_, Status::Shipped) => log::info!("order {}: shipped, tracking sent", new.id),
                    (from, to) => log::info!("order {}: {from:?} to {to:?}", new.id),
                }
            }
            "REMOVE" => {
                let order = image(change.old_image, "old image")?;
                log::info!("order {}: removed ({:?}), archived", order.id, order.status);
            }
            other => anyhow::bail!("record {}: unknown eventName {other:?}", record.id),
        }
        Ok(())
    }
}
