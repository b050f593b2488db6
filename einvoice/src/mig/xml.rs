//! A small XML writer: elements in the order they are written, text escaped, two-space indent.
//! Values are checked before they reach it (see `check`), so it cannot fail.

use super::MessageType;

pub(crate) struct XmlWriter {
    out: String,
    stack: Vec<&'static str>,
}

impl XmlWriter {
    /// Starts a document whose root is `message_type`'s root element in its namespace.
    pub(crate) fn new(message_type: MessageType) -> XmlWriter {
        let mut out = String::with_capacity(4096);
        out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        let root = message_type.root_element();
        out.push('<');
        out.push_str(root);
        out.push_str(" xmlns=\"");
        escape_into(&mut out, &message_type.namespace(), true);
        out.push_str("\">\n");
        XmlWriter { out, stack: vec![root] }
    }

    fn indent(&mut self) {
        for _ in 0..self.stack.len() {
            self.out.push_str("  ");
        }
    }

    /// Opens `<name>`.
    pub(crate) fn open(&mut self, name: &'static str) {
        self.indent();
        self.out.push('<');
        self.out.push_str(name);
        self.out.push_str(">\n");
        self.stack.push(name);
    }

    /// Closes the innermost open element.
    pub(crate) fn close(&mut self) {
        let name = self.stack.pop().expect("close() matches an open()");
        self.indent();
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push_str(">\n");
    }

    /// `<name>text</name>`.
    pub(crate) fn leaf(&mut self, name: &'static str, text: &str) {
        self.indent();
        self.out.push('<');
        self.out.push_str(name);
        self.out.push('>');
        escape_into(&mut self.out, text, false);
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push_str(">\n");
    }

    /// `leaf` when `text` is present.
    pub(crate) fn opt_leaf(&mut self, name: &'static str, text: Option<&str>) {
        if let Some(text) = text {
            self.leaf(name, text);
        }
    }

    /// Closes the root and returns the document.
    pub(crate) fn finish(mut self) -> String {
        while !self.stack.is_empty() {
            self.close();
        }
        self.out
    }
}

/// Escapes `&`, `<`, `>` (and in attributes `"`, `'`); carriage returns are written as `&#13;` so
/// that a reader's end-of-line normalisation does not turn them into line feeds.
fn escape_into(out: &mut String, text: &str, attribute: bool) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' if attribute => out.push_str("&quot;"),
            '\'' if attribute => out.push_str("&apos;"),
            '\r' => out.push_str("&#13;"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        let mut w = XmlWriter::new(MessageType::F0501);
        w.open("A");
        w.leaf("B", "x<y & \"z\" > 'w'\r\n");
        w.close();
        let xml = w.finish();
        assert!(xml.contains("<B>x&lt;y &amp; \"z\" &gt; 'w'&#13;\n</B>"), "{xml}");
        assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<CancelInvoice xmlns=\"urn:GEINV:eInvoiceMessage:F0501:4.1\">"));
        assert!(xml.ends_with("</CancelInvoice>\n"));
    }
}
