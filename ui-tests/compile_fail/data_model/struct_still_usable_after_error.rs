use moose::prelude::*;

// The only error is the unknown attribute: the struct, its fields and `DataModel` still
// exist, so the code below adds no errors of its own.
#[data_model]
#[derive(Debug, Clone)]
pub struct Reading {
    #[key]
    pub sensor: String,
    #[moose(lowcardinality)]
    pub unit: String,
    pub value: f64,
}

fn main() {
    let reading = Reading {
        sensor: "s1".to_owned(),
        unit: "C".to_owned(),
        value: 21.5,
    };
    let copy = reading.clone();
    println!("{} {} {}", copy.sensor, copy.unit, copy.value);
    println!("{:?}", Reading::columns());
    println!("{}", <Reading as DataModel>::NAME);
    let _json = serde_json::to_string(&reading);
}
