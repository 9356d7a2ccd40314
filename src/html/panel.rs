//! placeholder; being written

use crate::trace::{GenAiView, NodeId};

/// Placeholder until the span panel lands: writes nothing.
pub(super) fn write(
    _out: &mut String,
    _view: &GenAiView<'_>,
    _node: NodeId,
    _budget: &mut super::Budget,
) {
}
