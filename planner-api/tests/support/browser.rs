//! Real headless Chromium (Debian's `chromium`) driven through ChromeDriver (`chromium-driver`)
//! over the W3C WebDriver protocol, with reqwest: enough of it for the console's browser tests
//! (navigate, find, click, type, read text, run a script, accept a dialog, screenshots, the
//! browser console's log). Nothing is downloaded: both come from Debian's packages, and a test
//! that asks for them fails loudly without them.

use serde_json::{json, Value};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A ChromeDriver process with one browser session, both ended on drop.
pub struct Browser {
    driver: Child,
    /// The browser's profile folder: its processes are found by it (and killed) on drop.
    profile: tempfile::TempDir,
    http: reqwest::Client,
    url: String,
}

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

impl Browser {
    /// Starts ChromeDriver and a headless Chromium with a `width`×`height` window.
    pub async fn start(width: u32, height: u32) -> Browser {
        let port = super::own_postgres::free_port();
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("chromedriver is needed for the browser tests ({e}): apt-get install chromium chromium-driver"));
        let http = reqwest::Client::builder().timeout(Duration::from_secs(60)).build().expect("client");
        let base = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        while !http.get(format!("{base}/status")).send().await.is_ok_and(|r| r.status().is_success()) {
            assert!(started.elapsed() < Duration::from_secs(30), "chromedriver did not start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let profile = tempfile::tempdir().expect("profile folder");
        let caps = json!({ "capabilities": { "alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": "/usr/bin/chromium",
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", format!("--window-size={width},{height}"), "--lang=zh-TW", format!("--user-data-dir={}", profile.path().display())],
            },
            "goog:loggingPrefs": { "browser": "ALL" },
        }}});
        let res: Value = http.post(format!("{base}/session")).json(&caps).send().await.expect("new session").json().await.expect("json");
        let id = res["value"]["sessionId"].as_str().unwrap_or_else(|| panic!("no browser session: {res}")).to_owned();
        Browser { driver, profile, http, url: format!("{base}/session/{id}") }
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut req = self.http.request(method, format!("{}{path}", self.url));
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res: Value = req.send().await.expect("webdriver").json().await.expect("webdriver json");
        if let Some(err) = res["value"]["error"].as_str() {
            panic!("webdriver {path}: {err}: {}", res["value"]["message"]);
        }
        res["value"].clone()
    }

    /// Opens `url`.
    pub async fn goto(&self, url: &str) {
        self.call(reqwest::Method::POST, "/url", Some(json!({ "url": url }))).await;
    }

    /// Runs `script` (a function body; `arguments` are `args`) and gives its return value.
    pub async fn eval(&self, script: &str, args: Value) -> Value {
        self.call(reqwest::Method::POST, "/execute/sync", Some(json!({ "script": script, "args": args }))).await
    }

    /// Waits until `script` returns something truthy (at most `within`), and gives it.
    pub async fn wait_for(&self, what: &str, script: &str, within: Duration) -> Value {
        let started = Instant::now();
        loop {
            let v = self.eval(script, json!([])).await;
            if !(v.is_null() || v == json!(false) || v == json!("") || v == json!(0)) {
                return v;
            }
            if started.elapsed() > within {
                panic!("waited {within:?} for {what}; the page shows: {}\nconsole: {:?}", self.text("body").await, self.console().await);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn find(&self, css: &str) -> String {
        let v = self.call(reqwest::Method::POST, "/element", Some(json!({ "using": "css selector", "value": css }))).await;
        v[ELEMENT].as_str().unwrap_or_else(|| panic!("no element {css}: {v}")).to_owned()
    }

    /// Clicks the first element matching `css`.
    pub async fn click(&self, css: &str) {
        let id = self.find(css).await;
        self.call(reqwest::Method::POST, &format!("/element/{id}/click"), Some(json!({}))).await;
    }

    /// Types `text` into the first element matching `css` (after clearing it).
    pub async fn type_into(&self, css: &str, text: &str) {
        let id = self.find(css).await;
        self.call(reqwest::Method::POST, &format!("/element/{id}/clear"), Some(json!({}))).await;
        self.call(reqwest::Method::POST, &format!("/element/{id}/value"), Some(json!({ "text": text }))).await;
    }

    /// The visible text of the first element matching `css`.
    pub async fn text(&self, css: &str) -> String {
        let v = self.eval("const e = document.querySelector(arguments[0]); return e ? e.innerText : null;", json!([css])).await;
        v.as_str().unwrap_or_default().to_owned()
    }

    /// Accepts the open `confirm()`/`alert()` dialog, waiting for it to open.
    pub async fn accept_dialog(&self) {
        let started = Instant::now();
        loop {
            let res: Value = self.http.post(format!("{}/alert/accept", self.url)).json(&json!({})).send().await.expect("webdriver").json().await.expect("json");
            if res["value"].is_null() {
                return;
            }
            assert!(started.elapsed() < Duration::from_secs(10), "no dialog opened: {res}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// A PNG of the viewport.
    pub async fn screenshot(&self) -> Vec<u8> {
        use base64::Engine;
        let v = self.call(reqwest::Method::GET, "/screenshot", None).await;
        base64::engine::general_purpose::STANDARD.decode(v.as_str().expect("base64")).expect("PNG")
    }

    /// The browser console's entries since the last call: `(level, message)`.
    pub async fn console(&self) -> Vec<(String, String)> {
        let v = self.call(reqwest::Method::POST, "/se/log", Some(json!({ "type": "browser" }))).await;
        v.as_array()
            .into_iter()
            .flatten()
            .map(|e| (e["level"].as_str().unwrap_or_default().to_owned(), e["message"].as_str().unwrap_or_default().to_owned()))
            .collect()
    }
}

impl Browser {
    /// Ends the session (the browser closes), then ChromeDriver.
    pub async fn quit(self) {
        let _ = self.http.delete(&self.url).send().await;
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // A test that fails half-way ends no session: its Chromium would outlive ChromeDriver
        // (and keep a core busy), so its processes are killed by their profile folder.
        let _ = Command::new("pkill").arg("-KILL").arg("-f").arg(format!("--user-data-dir={}", self.profile.path().display())).status();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
