use moose::prelude::*;

#[data_model]
pub struct Click {
    #[key]
    pub id: String,
}

#[data_model]
pub struct Visit {
    #[key]
    pub id: String,
}

fn log_visit(visit: Visit) {
    println!("{}", visit.id);
}

fn main() {
    let _app = pipeline! {
        clicks: Stream<Click>,
        clicks => consume(log_visit),
    };
}
