use moose::prelude::*;

#[data_model]
pub struct Click {
    #[key]
    pub id: String,
    pub at: u64,
}

fn main() {
    let _app = pipeline! {
        clicks: OlapTable<Click> { partition_by: day },
    };
}
