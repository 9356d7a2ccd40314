//! Byte offsets as the 1-based lines and columns (in characters) that errors show.

/// Where the lines of a text start, to turn byte offsets into lines and columns without
/// rescanning the text for each (a suite locates every one of its cases).
#[derive(Debug, Clone)]
pub(crate) struct Lines {
    starts: Vec<usize>,
}

impl Lines {
    pub(crate) fn new(text: &str) -> Lines {
        let breaks = text.bytes().enumerate().filter(|&(_, b)| b == b'\n');
        let starts = std::iter::once(0)
            .chain(breaks.map(|(i, _)| i + 1))
            .collect();
        Lines { starts }
    }

    /// The 1-based line and column (in characters) of byte `offset` of `text`, the text these
    /// lines were made from.
    pub(crate) fn position(&self, text: &str, offset: usize) -> (usize, usize) {
        let offset = offset.min(text.len());
        let line = self.starts.partition_point(|&start| start <= offset).max(1);
        let start = self.starts[line - 1];
        // Count characters without slicing inside one: skip UTF-8 continuation bytes.
        let bytes = text.as_bytes().get(start..offset).unwrap_or_default();
        let column = bytes.iter().filter(|&&b| b & 0xC0 != 0x80).count() + 1;
        (line, column)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_one_based_lines_and_character_columns() {
        let text = "a = 1\nbé = 'ü'\n\nlast";
        let cases = [
            (0, (1, 1)),
            (4, (1, 5)),
            (6, (2, 1)),
            (10, (2, 4)),
            (17, (3, 1)),
            (18, (4, 1)),
            (99, (4, 5)),
        ];
        let lines = Lines::new(text);
        for (offset, expected) in cases {
            assert_eq!(lines.position(text, offset), expected, "offset {offset}");
        }
        assert_eq!(Lines::new("").position("", 0), (1, 1));
    }
}
