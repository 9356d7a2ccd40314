//! Tests of the renderers: escaping, the terminal, the Markdown (parsed with pulldown-cmark).

mod escape;
mod markdown;
mod terminal;
