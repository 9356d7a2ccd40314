//! placeholder; being written
use crate::trace::SpanId;
use crate::trace::genai::GenAiView;
use crate::trace::tree::NodeId;
pub(super) const CSS: &str = "";
pub(super) fn write(
    _out: &mut String,
    _view: &GenAiView<'_>,
    _root: NodeId,
    _marked: &[SpanId],
    _budget: &mut super::Budget,
) {
}
