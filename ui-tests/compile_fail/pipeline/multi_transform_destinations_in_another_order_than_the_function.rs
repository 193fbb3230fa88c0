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

fn route(order: Order, (accepted, _refunds): &(Stream<Accepted>, Stream<Refund>)) -> Routed {
    accepted.routed(Accepted { id: order.id })
}

// The function takes its destinations as `(accepted, refunds)`; the flow lists them swapped.
fn main() {
    let _app = pipeline! {
        orders: Stream<Order>,
        accepted: Stream<Accepted>,
        refunds: Stream<Refund>,
        orders => multi_transform(route) => [refunds, accepted],
    };
}
