//! The owned form of a `pipeline! { ... }` body.

use syn::{Expr, Ident, Type};

/// The whole body.
pub struct Pipeline {
    pub decls: Vec<Decl>,
    pub flows: Vec<Flow>,
    /// Mistakes the parser read past (a misspelled item kind or flow step), so the checks
    /// still run on everything else and report in the same compile.
    pub errors: Vec<syn::Error>,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum DeclKind {
    IngestPipeline,
    Stream,
    OlapTable,
}

impl DeclKind {
    pub const NAMES: [&'static str; 3] = ["IngestPipeline", "Stream", "OlapTable"];
    pub const ALL: [DeclKind; 3] = [
        DeclKind::IngestPipeline,
        DeclKind::Stream,
        DeclKind::OlapTable,
    ];

    pub fn name(self) -> &'static str {
        match self {
            DeclKind::IngestPipeline => "IngestPipeline",
            DeclKind::Stream => "Stream",
            DeclKind::OlapTable => "OlapTable",
        }
    }

    /// What is declared, in words: `stream`, `table`, `ingest pipeline`.
    pub fn described_bare(self) -> &'static str {
        match self {
            DeclKind::IngestPipeline => "ingest pipeline",
            DeclKind::Stream => "stream",
            DeclKind::OlapTable => "table",
        }
    }

    /// [`DeclKind::described_bare`] with its article: `a stream`, `an ingest pipeline`.
    pub fn described(self) -> &'static str {
        match self {
            DeclKind::IngestPipeline => "an ingest pipeline",
            DeclKind::Stream => "a stream",
            DeclKind::OlapTable => "a table",
        }
    }

    pub fn options(self) -> &'static [&'static str] {
        const STREAM: &[&str] = &[
            "parallelism",
            "retention",
            "life_cycle",
            "version",
            "destination",
            "dead_letter_queue",
        ];
        const TABLE: &[&str] = &[
            "order_by",
            "partition_by",
            "primary_key",
            "engine",
            "ttl",
            "life_cycle",
            "version",
        ];
        const PIPELINE: &[&str] = &[
            "ingest",
            "stream",
            "table",
            "version",
            "path",
            "dead_letter_queue",
            "parallelism",
            "retention",
            "life_cycle",
            "order_by",
            "partition_by",
            "primary_key",
            "engine",
            "ttl",
        ];
        match self {
            DeclKind::IngestPipeline => PIPELINE,
            DeclKind::Stream => STREAM,
            DeclKind::OlapTable => TABLE,
        }
    }
}

/// `name: Kind<Model> { options }`.
pub struct Decl {
    pub name: Ident,
    /// `None` for a misspelled kind (already reported): the name is declared, nothing else
    /// about it is checked.
    pub kind: Option<DeclKind>,
    pub model: Type,
    pub options: Vec<Opt>,
}

/// `name: value`.
pub struct Opt {
    pub name: Ident,
    pub value: Expr,
}

/// `a => transform(f) => b => consume(g)`, or `a => multi_transform(f) => [b, c]`.
pub struct Flow {
    pub source: Ident,
    pub steps: Vec<Step>,
}

pub enum Step {
    /// `=> transform(f, options) => destination`.
    Transform {
        keyword: Ident,
        function: Expr,
        options: Vec<Opt>,
        destination: Ident,
    },
    /// `=> multi_transform(f, options) => [a, b]`: ends its flow.
    MultiTransform {
        keyword: Ident,
        function: Expr,
        options: Vec<Opt>,
        destinations: Vec<Ident>,
    },
    /// `=> consume(f, options)`.
    Consume {
        keyword: Ident,
        function: Expr,
        options: Vec<Opt>,
    },
    /// A misspelled step (already reported), with the destination that followed it, if any.
    Unknown { destination: Option<Ident> },
}
