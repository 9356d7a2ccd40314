//! placeholder; being written
pub(crate) struct ShapeFold;
