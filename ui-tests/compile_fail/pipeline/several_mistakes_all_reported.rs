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

fn to_visit(click: Click) -> Visit {
    Visit { id: click.id }
}

// Six independent mistakes, all reported by one compile.
fn main() {
    let _app = pipeline! {
        clicks: Steam<Click> { parallelism: 2 },
        visits: Stream<Visit> { paralelism: 2, life_cycle: Forever },
        archive: OlapTable<Visit> { order_by: [id, day] },
        clicks => transform(to_visit) => visit,
        visits => transfrom(to_visit) => archive,
        visits => consume(to_visit),
    };
}
