use moose::prelude::*;

// Every mistake here is reported in the same compile, not one per compile.
#[data_model]
pub struct Sale {
    #[moose(lowcardinality)]
    pub region: String,
    #[moose(decimal)]
    pub amount: rust_decimal::Decimal,
    #[moose(precision = 12)]
    pub at: chrono::DateTime<chrono::Utc>,
    #[moose(cdec = "ZSTD(3)")]
    pub note: String,
}

fn main() {}
