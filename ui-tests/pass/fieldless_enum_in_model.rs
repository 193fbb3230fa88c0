use moose::prelude::*;

#[data_model]
#[derive(Debug, Clone, Copy, PartialEq)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Active,
    OnHold,
    Closed = 10,
}

#[data_model]
pub struct Account {
    #[key]
    pub id: u64,
    pub status: Status,
    pub previous: Option<Status>,
}

fn main() {
    let columns = Account::columns();
    assert_eq!(
        columns[1].ty.to_string(),
        "Enum8('active' = 0, 'on_hold' = 1, 'closed' = 10)"
    );
    assert!(columns[2].nullable());

    let json = serde_json::to_string(&Account {
        id: 1,
        status: Status::OnHold,
        previous: None,
    })
    .unwrap();
    assert_eq!(json, r#"{"id":1,"status":"on_hold","previous":null}"#);
}
