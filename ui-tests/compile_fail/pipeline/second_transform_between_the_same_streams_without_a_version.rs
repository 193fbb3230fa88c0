use moose::prelude::*;

#[data_model]
pub struct Click {
    #[key]
    pub id: String,
}

fn same(click: Click) -> Click {
    click
}

fn upper(click: Click) -> Click {
    Click {
        id: click.id.to_uppercase(),
    }
}

fn main() {
    let _app = pipeline! {
        raw: Stream<Click>,
        clean: Stream<Click>,
        raw => transform(same) => clean,
        raw => transform(upper) => clean,
    };
}
