//! placeholder; being written
use crate::trace::genai::GenAiView;
use crate::trace::tree::NodeId;
#[derive(Default)]
pub(crate) struct ShapeFold;
impl ShapeFold {
    pub(crate) fn add(&mut self, _model: &str, _view: &GenAiView<'_>, _root: NodeId) {}
    pub(crate) fn write(&self, _out: &mut String, _models: &[String]) {}
}
