//! Snapshot tests of the expansion.
