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

// `refunds` is a stream of `Refund`: an `Accepted` cannot be routed there.
fn route(order: Order, (_accepted, refunds): &(Stream<Accepted>, Stream<Refund>)) -> Routed {
    refunds.routed(Accepted { id: order.id })
}

fn main() {
    let _app = pipeline! {
        orders: Stream<Order>,
        accepted: Stream<Accepted>,
        refunds: Stream<Refund>,
        orders => multi_transform(route) => [accepted, refunds],
    };
}
