use moose::prelude::*;

#[data_model]
pub struct Order {
    #[key]
    pub id: String,
}

#[data_model]
pub struct Accepted {
    #[key]
    pub id: String,
}

#[data_model]
pub struct Refund {
    #[key]
    pub id: String,
}

// `routed` takes the destination stream's own model: a `Refund` cannot go to `accepted`.
fn main() -> Result<(), moose::GraphError> {
    let app = App::new();
    let orders = app.stream::<Order>("orders", StreamConfig::default())?;
    let accepted = app.stream::<Accepted>("accepted", StreamConfig::default())?;
    let refunds = app.stream::<Refund>("refunds", StreamConfig::default())?;
    orders.add_multi_transform((accepted, refunds), |order: Order, (accepted, _refunds)| {
        accepted.routed(Refund { id: order.id })
    })?;
    Ok(())
}
