use moose::prelude::*;

#[data_model]
pub struct Order {
    #[key]
    pub id: String,
}

fn route(order: Order, (orders,): &(Stream<Order>,)) -> Routed {
    orders.routed(order)
}

fn main() {
    let _app = pipeline! {
        orders: Stream<Order>,
        copies: Stream<Order>,
        orders => multi_transform(route) => copies,
    };
}
