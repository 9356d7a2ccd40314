//! The page around the content: the document head with its Content-Security-Policy, the
//! style sheet and the one inline script.
//!
//! The policy allows nothing to load (`default-src 'none'`), inline styles, images from
//! `data:` only, and exactly one script: ours, by its SHA-256. An escaping bug that let markup
//! through still could not run a script or fetch anything.

use std::fmt::Write;
use std::sync::LazyLock;

use base64::Engine;

use super::escape::esc;

/// The page's style: system fonts, no external resource, colours that print.
const CSS: &str = include_str!("page.css");

/// The page's one script: filters, sorting, keyboard navigation, collapse all. It reads and
/// moves elements and sets attributes and text; it never parses markup. It marks the body
/// `data-tv-ready="1"` when it has run.
pub(crate) const SCRIPT: &str = include_str!("page.js");

/// `'sha256-…'` of [`SCRIPT`], as the policy names it.
pub(crate) fn script_hash() -> &'static str {
    static HASH: LazyLock<String> = LazyLock::new(|| {
        let digest = ring::digest::digest(&ring::digest::SHA256, SCRIPT.as_bytes());
        format!(
            "'sha256-{}'",
            base64::engine::general_purpose::STANDARD.encode(digest.as_ref())
        )
    });
    &HASH
}

/// Writes the whole page: the head with `title`, the style and the policy, `body`, then the
/// script.
pub(crate) fn write(out: &mut String, title: &str, extra_css: &str, body: &str) {
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; \
         img-src data:; style-src 'unsafe-inline'; script-src {}; base-uri 'none'; \
         form-action 'none'\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"generator\" content=\"traceval\">\n<title>{}</title>\n\
         <style>\n{CSS}{extra_css}</style>\n</head>\n<body>\n",
        script_hash(),
        esc(title),
    );
    out.push_str(body);
    out.push_str("<script>");
    out.push_str(SCRIPT);
    out.push_str("</script>\n</body>\n</html>\n");
}
