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

fn describe(click: Click) -> String {
    click.id
}

// The builder API checks a transform by the same rules as `pipeline!`, with the same words.
fn main() -> Result<(), moose::GraphError> {
    let app = App::new();
    let clicks = app.stream::<Click>("clicks", StreamConfig::default())?;
    let visits = app.stream::<Visit>("visits", StreamConfig::default())?;
    clicks.add_transform(&visits, describe)?;
    Ok(())
}
