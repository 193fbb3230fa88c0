use moose::prelude::*;

type Id = u64;
type Tags = Vec<std::string::String>;

#[data_model]
pub struct Event {
    #[key]
    pub id: Id,
    pub name: std::string::String,
    pub at: ::chrono::DateTime<::chrono::Utc>,
    pub tags: Tags,
    pub parent: ::core::option::Option<Id>,
}

fn main() {
    let columns = Event::columns();
    let types: Vec<String> = columns.iter().map(|c| c.ty.to_string()).collect();
    assert_eq!(types[0], "UInt64");
    assert_eq!(types[1], "String");
    assert_eq!(types[2], "DateTime64(3, 'UTC')");
    assert_eq!(types[3], "Array(String)");
    assert_eq!(types[4], "Nullable(UInt64)");
}
