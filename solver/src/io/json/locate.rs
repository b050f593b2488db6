//! Finds the JSON path (`clients[3].time_windows[0]`) at a line and column of a document, so that
//! serde's errors, which only know positions, can name the field at fault.
//!
//! A forgiving scanner, not a parser: it follows brackets, keys and commas up to the position and
//! never fails, whatever the text.

/// One open container, innermost last.
enum Frame {
    /// An object, with the key whose value is being read (none between a comma and the next key).
    Object { key: Option<String>, expecting_key: bool },
    /// An array, with the index of the element being read.
    Array { index: usize },
}

/// The path of the value being read at `line` (1-based) and `column` (bytes, as serde_json
/// counts them) of `text`; empty at the top level.
pub fn path_at(text: &str, line: usize, column: usize) -> String {
    let bytes = text.as_bytes();
    let mut offset = 0;
    for _ in 1..line {
        match bytes[offset..].iter().position(|&b| b == b'\n') {
            Some(p) => offset += p + 1,
            None => {
                offset = bytes.len();
                break;
            }
        }
    }
    let end = (offset + column).min(bytes.len());
    render(&scan(&bytes[..end]))
}

fn scan(bytes: &[u8]) -> Vec<Frame> {
    let mut stack: Vec<Frame> = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'{' => stack.push(Frame::Object { key: None, expecting_key: true }),
            b'[' => stack.push(Frame::Array { index: 0 }),
            b'}' | b']' => {
                stack.pop();
            }
            b',' => match stack.last_mut() {
                Some(Frame::Array { index }) => *index += 1,
                Some(Frame::Object { key, expecting_key }) => {
                    *key = None;
                    *expecting_key = true;
                }
                None => {}
            },
            b':' => {
                if let Some(Frame::Object { expecting_key, .. }) = stack.last_mut() {
                    *expecting_key = false;
                }
            }
            b'"' => {
                let start = i + 1;
                let mut j = start;
                while j < bytes.len() && bytes[j] != b'"' {
                    j += if bytes[j] == b'\\' { 2 } else { 1 };
                }
                let s = String::from_utf8_lossy(&bytes[start..j.min(bytes.len())]).into_owned();
                if let Some(Frame::Object { key, expecting_key: true }) = stack.last_mut() {
                    *key = Some(s);
                }
                i = j;
            }
            _ => {}
        }
        i += 1;
    }
    stack
}

fn render(stack: &[Frame]) -> String {
    let mut path = String::new();
    for frame in stack {
        match frame {
            Frame::Object { key: Some(k), .. } => {
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(k);
            }
            Frame::Object { key: None, .. } => {}
            Frame::Array { index } => path.push_str(&format!("[{index}]")),
        }
    }
    path
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_nested_keys_and_indices() {
        let text = "{\"clients\": [\n {\"id\": \"a\"},\n {\"id\": \"b\", \"time_windows\": [{\"start\": \"08:00\", \"begin\": 1}]}\n]}";
        // Line 3, just after the key "begin".
        let line3 = text.lines().nth(2).unwrap();
        let col = line3.find("begin").unwrap() + "begin\"".len();
        assert_eq!(path_at(text, 3, col), "clients[1].time_windows[0].begin");
        // After the closing brace of the first client: the array element itself.
        assert_eq!(path_at(text, 2, 12), "clients[0]");
        assert_eq!(path_at(text, 1, 1), "");
    }

    #[test]
    fn survives_garbage_and_out_of_range_positions() {
        for text in ["", "\"", "{\"a\\", "]]]}}", "{\"é\": [1, {\"", "\u{7f}\u{0}"] {
            let _ = path_at(text, 1, 100);
            let _ = path_at(text, 50, 0);
        }
        assert_eq!(path_at("{\"é\": [1, {", 1, 100), "é[1]");
    }
}
