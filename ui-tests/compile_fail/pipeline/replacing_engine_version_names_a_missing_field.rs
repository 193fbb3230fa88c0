use moose::prelude::*;

#[data_model]
pub struct Click {
    #[key]
    pub id: String,
    pub revision: u64,
}

fn main() {
    let _app = pipeline! {
        clicks: OlapTable<Click> { engine: ReplacingMergeTree(version) },
    };
}
