use moose::prelude::*;

// `Option` behind an alias: caught by the type, not by its spelling.
type MaybeId = Option<u64>;

#[data_model]
pub struct Session {
    #[key]
    pub user_id: MaybeId,
    pub started: u64,
}

fn main() {}
