use moose::prelude::*;

#[data_model]
#[derive(Debug, Clone, PartialEq)]
pub struct Address {
    pub city: String,
    pub zip: Option<u32>,
}

#[data_model]
#[derive(Debug, Clone, PartialEq)]
pub struct Customer {
    #[key]
    pub id: u64,
    pub home: Address,
    pub previous: Vec<Address>,
}

fn main() {
    let columns = Customer::columns();
    assert_eq!(Customer::COLUMN_NAMES, &["id", "home", "previous"]);
    let address = "Tuple(`city` String, `zip` Nullable(UInt32))";
    assert_eq!(columns[1].ty.to_string(), address);
    assert_eq!(columns[2].ty.to_string(), format!("Array({address})"));

    let customer = Customer {
        id: 7,
        home: Address {
            city: "Oslo".to_owned(),
            zip: Some(150),
        },
        previous: vec![],
    };
    let json = serde_json::to_string(&customer).unwrap();
    let back: Customer = serde_json::from_str(&json).unwrap();
    assert_eq!(back, customer);
}
