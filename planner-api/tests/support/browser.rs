//! Real headless browsers driven over the W3C WebDriver protocol, for the console's browser tests
//! (navigate, find, click, type, read text, run a script, accept a dialog, screenshots, the
//! browser console's log, going offline): Debian's `chromium` through ChromeDriver
//! (`chromium-driver`) with reqwest, and Debian's `firefox-esr` through its own Marionette
//! socket (the protocol geckodriver speaks to it; geckodriver is not packaged). Nothing is
//! downloaded; a test that asks for a browser fails loudly without it.

use serde_json::{json, Value};
use std::io::{BufRead, Read, Write};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

enum Backend {
    /// ChromeDriver's HTTP API: the session's URL.
    Chrome { http: reqwest::Client, url: String },
    /// Marionette: the socket and the last message id; what Firefox prints (its console).
    Firefox { conn: Mutex<(std::net::TcpStream, u64)>, output: Arc<Mutex<Vec<String>>> },
}

/// A browser with one session, ended on drop: ChromeDriver and its Chromium, or Firefox.
pub struct Browser {
    process: Child,
    /// The browser's profile folder: its processes are found by it (and killed) on drop.
    profile: tempfile::TempDir,
    backend: Backend,
}

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

impl Browser {
    /// Starts ChromeDriver and a headless Chromium with a `width`×`height` window.
    pub async fn start(width: u32, height: u32) -> Browser {
        Browser::chromium(json!({ "args": [format!("--window-size={width},{height}")] })).await
    }

    /// A headless Chromium emulating a phone: a `width`×`height` CSS-pixel touch screen at twice
    /// the density, with a phone's user agent.
    pub async fn phone(width: u32, height: u32) -> Browser {
        Browser::chromium(json!({
            "args": [],
            "mobileEmulation": {
                "deviceMetrics": { "width": width, "height": height, "pixelRatio": 2.0, "touch": true },
                "userAgent": "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0 Mobile Safari/537.36",
            },
        }))
        .await
    }

    async fn chromium(options: Value) -> Browser {
        let port = super::own_postgres::free_port();
        let process = Command::new("chromedriver")
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
        let mut chrome = options;
        chrome["binary"] = json!("/usr/bin/chromium");
        let args = chrome["args"].as_array_mut().expect("args");
        for a in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--lang=zh-TW"] {
            args.push(json!(a));
        }
        args.push(json!(format!("--user-data-dir={}", profile.path().display())));
        let caps = json!({ "capabilities": { "alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": chrome,
            "goog:loggingPrefs": { "browser": "ALL" },
        }}});
        let res: Value = http.post(format!("{base}/session")).json(&caps).send().await.expect("new session").json().await.expect("json");
        let id = res["value"]["sessionId"].as_str().unwrap_or_else(|| panic!("no browser session: {res}")).to_owned();
        Browser { process, profile, backend: Backend::Chrome { http, url: format!("{base}/session/{id}") } }
    }

    /// Starts a headless Firefox (Debian's `firefox-esr`) with a `width`×`height` window, driven
    /// over Marionette.
    pub async fn firefox(width: u32, height: u32) -> Browser {
        let port = super::own_postgres::free_port();
        let profile = tempfile::tempdir().expect("profile folder");
        let prefs = [
            format!("user_pref(\"marionette.port\", {port});"),
            "user_pref(\"devtools.console.stdout.content\", true);".into(),
            "user_pref(\"devtools.console.stdout.chrome\", false);".into(),
            "user_pref(\"intl.accept_languages\", \"zh-TW, zh, en\");".into(),
            "user_pref(\"browser.shell.checkDefaultBrowser\", false);".into(),
            "user_pref(\"datareporting.policy.dataSubmissionEnabled\", false);".into(),
            "user_pref(\"toolkit.telemetry.reportingpolicy.firstRun\", false);".into(),
            "user_pref(\"browser.startup.homepage_override.mstone\", \"ignore\");".into(),
            "user_pref(\"app.update.disabledForTesting\", true);".into(),
            "user_pref(\"network.captive-portal-service.enabled\", false);".into(),
            "user_pref(\"browser.aboutwelcome.enabled\", false);".into(),
            // Firefox's own services, which would reach for the internet and log their failures
            // beside the page's console.
            "user_pref(\"messaging-system.rsexperimentloader.enabled\", false);".into(),
            "user_pref(\"app.normandy.enabled\", false);".into(),
            "user_pref(\"app.shield.optoutstudies.enabled\", false);".into(),
            "user_pref(\"services.settings.server\", \"http://127.0.0.1:9/\");".into(),
            "user_pref(\"browser.region.update.enabled\", false);".into(),
            "user_pref(\"browser.search.update\", false);".into(),
            "user_pref(\"extensions.update.enabled\", false);".into(),
            "user_pref(\"extensions.getAddons.cache.enabled\", false);".into(),
            "user_pref(\"datareporting.healthreport.uploadEnabled\", false);".into(),
            "user_pref(\"toolkit.telemetry.enabled\", false);".into(),
            "user_pref(\"browser.safebrowsing.update.enabled\", false);".into(),
            "user_pref(\"network.connectivity-service.enabled\", false);".into(),
        ];
        std::fs::write(profile.path().join("user.js"), prefs.join("\n")).expect("user.js");
        let mut process = Command::new("firefox-esr")
            .args(["--headless", "--marionette", "--no-remote", "--profile"])
            .arg(profile.path())
            .arg("about:blank")
            .env("MOZ_CRASHREPORTER_DISABLE", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("firefox-esr is needed for the Firefox browser test ({e}): apt-get install firefox-esr"));
        // What Firefox prints: the page's console (devtools.console.stdout.content) among its own.
        let output = Arc::new(Mutex::new(Vec::new()));
        for pipe in [process.stdout.take().map(|p| Box::new(p) as Box<dyn Read + Send>), process.stderr.take().map(|p| Box::new(p) as Box<dyn Read + Send>)]
            .into_iter()
            .flatten()
        {
            let output = Arc::clone(&output);
            std::thread::spawn(move || {
                for line in std::io::BufReader::new(pipe).lines().map_while(Result::ok) {
                    output.lock().expect("output").push(line);
                }
            });
        }
        let started = Instant::now();
        let mut stream = loop {
            match std::net::TcpStream::connect(("127.0.0.1", port)) {
                Ok(s) => break s,
                Err(e) => {
                    assert!(started.elapsed() < Duration::from_secs(60), "Firefox's Marionette did not open: {e}\n{:?}", output.lock().expect("output"));
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        };
        stream.set_read_timeout(Some(Duration::from_secs(120))).expect("timeout");
        let hello = marionette_read(&mut stream);
        assert_eq!(hello["applicationType"], "gecko", "{hello}");
        let browser = Browser { process, profile, backend: Backend::Firefox { conn: Mutex::new((stream, 0)), output } };
        browser.command("WebDriver:NewSession", json!({ "capabilities": { "alwaysMatch": { "pageLoadStrategy": "normal" } } }));
        browser.command("WebDriver:SetWindowRect", json!({ "width": width, "height": height }));
        browser
    }

    /// One Marionette command: `[0, id, name, params]` out, `[1, id, error, result]` back.
    fn command(&self, name: &str, params: Value) -> Value {
        let Backend::Firefox { conn, .. } = &self.backend else { panic!("not Firefox") };
        let mut guard = conn.lock().expect("marionette");
        let (stream, last) = &mut *guard;
        *last += 1;
        let id = *last;
        let body = serde_json::to_vec(&json!([0, id, name, params])).expect("json");
        stream.write_all(format!("{}:", body.len()).as_bytes()).and_then(|()| stream.write_all(&body)).expect("marionette write");
        loop {
            let reply = marionette_read(stream);
            if reply[1] != json!(id) {
                continue;
            }
            if !reply[2].is_null() {
                return json!({ "error": reply[2]["error"], "message": reply[2]["message"] });
            }
            return reply[3].clone();
        }
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let Backend::Chrome { http, url } = &self.backend else { panic!("not Chromium") };
        let mut req = http.request(method, format!("{url}{path}"));
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res: Value = req.send().await.expect("webdriver").json().await.expect("webdriver json");
        if let Some(err) = res["value"]["error"].as_str() {
            panic!("webdriver {path}: {err}: {}", res["value"]["message"]);
        }
        res["value"].clone()
    }

    fn firefox_call(&self, name: &str, params: Value) -> Value {
        let v = tokio::task::block_in_place(|| self.command(name, params));
        if let Some(err) = v["error"].as_str() {
            panic!("marionette {name}: {err}: {}", v["message"]);
        }
        v
    }

    /// Opens `url`.
    pub async fn goto(&self, url: &str) {
        match self.backend {
            Backend::Chrome { .. } => drop(self.call(reqwest::Method::POST, "/url", Some(json!({ "url": url }))).await),
            Backend::Firefox { .. } => drop(self.firefox_call("WebDriver:Navigate", json!({ "url": url }))),
        }
    }

    /// Runs `script` (a function body; `arguments` are `args`) and gives its return value.
    pub async fn eval(&self, script: &str, args: Value) -> Value {
        match self.backend {
            Backend::Chrome { .. } => self.call(reqwest::Method::POST, "/execute/sync", Some(json!({ "script": script, "args": args }))).await,
            Backend::Firefox { .. } => self.firefox_call("WebDriver:ExecuteScript", json!({ "script": script, "args": args }))["value"].clone(),
        }
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
        let v = match self.backend {
            Backend::Chrome { .. } => self.call(reqwest::Method::POST, "/element", Some(json!({ "using": "css selector", "value": css }))).await,
            Backend::Firefox { .. } => self.firefox_call("WebDriver:FindElement", json!({ "using": "css selector", "value": css }))["value"].clone(),
        };
        v[ELEMENT].as_str().unwrap_or_else(|| panic!("no element {css}: {v}")).to_owned()
    }

    /// Clicks the first element matching `css`.
    pub async fn click(&self, css: &str) {
        let id = self.find(css).await;
        match self.backend {
            Backend::Chrome { .. } => drop(self.call(reqwest::Method::POST, &format!("/element/{id}/click"), Some(json!({}))).await),
            Backend::Firefox { .. } => drop(self.firefox_call("WebDriver:ElementClick", json!({ "id": id }))),
        }
    }

    /// Types `text` into the first element matching `css` (after clearing it).
    pub async fn type_into(&self, css: &str, text: &str) {
        let id = self.find(css).await;
        match self.backend {
            Backend::Chrome { .. } => {
                self.call(reqwest::Method::POST, &format!("/element/{id}/clear"), Some(json!({}))).await;
                self.call(reqwest::Method::POST, &format!("/element/{id}/value"), Some(json!({ "text": text }))).await;
            }
            Backend::Firefox { .. } => {
                self.firefox_call("WebDriver:ElementClear", json!({ "id": id }));
                self.firefox_call("WebDriver:ElementSendKeys", json!({ "id": id, "text": text }));
            }
        }
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
            let res = match &self.backend {
                Backend::Chrome { http, url } => {
                    let res: Value = http.post(format!("{url}/alert/accept")).json(&json!({})).send().await.expect("webdriver").json().await.expect("json");
                    res["value"].clone()
                }
                Backend::Firefox { .. } => tokio::task::block_in_place(|| self.command("WebDriver:AcceptAlert", json!({}))),
            };
            if res.is_null() || res.get("error").is_none() {
                return;
            }
            assert!(started.elapsed() < Duration::from_secs(10), "no dialog opened: {res}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// A PNG of the viewport.
    pub async fn screenshot(&self) -> Vec<u8> {
        use base64::Engine;
        let v = match self.backend {
            Backend::Chrome { .. } => self.call(reqwest::Method::GET, "/screenshot", None).await,
            Backend::Firefox { .. } => self.firefox_call("WebDriver:TakeScreenshot", json!({ "full": false, "hash": false }))["value"].clone(),
        };
        base64::engine::general_purpose::STANDARD.decode(v.as_str().expect("base64")).expect("PNG")
    }

    /// The browser console's entries since the last call: `(level, message)`. Firefox's are
    /// the lines it prints of the page's console (`console.error: …`) and of the page's script
    /// errors (`JavaScript error: http://…`), each as `SEVERE`.
    pub async fn console(&self) -> Vec<(String, String)> {
        match &self.backend {
            Backend::Chrome { .. } => {
                let v = self.call(reqwest::Method::POST, "/se/log", Some(json!({ "type": "browser" }))).await;
                v.as_array()
                    .into_iter()
                    .flatten()
                    .map(|e| (e["level"].as_str().unwrap_or_default().to_owned(), e["message"].as_str().unwrap_or_default().to_owned()))
                    .collect()
            }
            Backend::Firefox { output, .. } => {
                let lines: Vec<String> = output.lock().expect("output").drain(..).collect();
                // An entry runs from its first line to the next blank one (its stack, say).
                let mut entries: Vec<String> = Vec::new();
                let mut open = false;
                for line in lines {
                    if line.starts_with("console.") || line.starts_with("JavaScript error:") || line.contains("Content-Security-Policy") {
                        entries.push(line);
                        open = true;
                    } else if line.trim().is_empty() {
                        open = false;
                    } else if open {
                        if let Some(last) = entries.last_mut() {
                            last.push('\n');
                            last.push_str(&line);
                        }
                    }
                }
                // Firefox's own code (its stack in resource:// or chrome:// files) is not the page's.
                entries
                    .into_iter()
                    .filter(|e| e.contains("http://127.0.0.1") || !(e.contains("resource://") || e.contains("chrome://")))
                    .filter(|e| {
                        e.starts_with("console.error")
                            || e.starts_with("console.warn")
                            || e.starts_with("JavaScript error")
                            || e.contains("Content-Security-Policy")
                    })
                    .map(|e| (if e.starts_with("console.warn") { "WARNING" } else { "SEVERE" }.to_owned(), e))
                    .collect()
            }
        }
    }

    /// Cuts the page off the network (`true`) or gives it back (Chromium's network emulation:
    /// requests fail as offline and `navigator.onLine` follows).
    pub async fn set_offline(&self, offline: bool) {
        let conditions =
            json!({ "network_conditions": { "offline": offline, "latency": 0, "download_throughput": 1_000_000_000, "upload_throughput": 1_000_000_000 } });
        self.call(reqwest::Method::POST, "/chromium/network_conditions", Some(conditions)).await;
    }

    /// Presses `key` (a WebDriver key: `\u{E007}` Enter, `\u{E00C}` Escape, `\u{E004}` Tab) on
    /// whatever has the keyboard focus, as a person at a keyboard would.
    pub async fn press(&self, key: &str) {
        let actions =
            json!({ "actions": [{ "type": "key", "id": "keyboard", "actions": [{ "type": "keyDown", "value": key }, { "type": "keyUp", "value": key }] }] });
        match self.backend {
            Backend::Chrome { .. } => drop(self.call(reqwest::Method::POST, "/actions", Some(actions)).await),
            Backend::Firefox { .. } => drop(self.firefox_call("WebDriver:PerformActions", actions)),
        }
    }

    /// Resizes the window to `width`×`height`.
    pub async fn resize(&self, width: u32, height: u32) {
        match self.backend {
            Backend::Chrome { .. } => drop(self.call(reqwest::Method::POST, "/window/rect", Some(json!({ "width": width, "height": height }))).await),
            Backend::Firefox { .. } => drop(self.firefox_call("WebDriver:SetWindowRect", json!({ "width": width, "height": height }))),
        }
    }

    /// Sets the pages' clock (`Date`) to `epoch_ms` from now on, running on from there: every page
    /// loaded after this sees that time (Chromium: a script evaluated before each page's own,
    /// through the DevTools protocol, which the page's CSP does not govern).
    pub async fn set_clock(&self, epoch_ms: i64) {
        let source = format!(
            "(() => {{ const shift = {epoch_ms} - Date.now(); const Real = Date; \
             class Shifted extends Real {{ constructor(...a) {{ if (a.length === 0) super(Real.now() + shift); else super(...a); }} static now() {{ return Real.now() + shift; }} }} \
             globalThis.Date = Shifted; }})();"
        );
        self.call(reqwest::Method::POST, "/goog/cdp/execute", Some(json!({ "cmd": "Page.addScriptToEvaluateOnNewDocument", "params": { "source": source } })))
            .await;
    }

    /// Ends the session (the browser closes), then the driver.
    pub async fn quit(self) {
        match &self.backend {
            Backend::Chrome { http, url } => drop(http.delete(url).send().await),
            Backend::Firefox { .. } => drop(tokio::task::block_in_place(|| self.command("WebDriver:DeleteSession", json!({})))),
        }
    }
}

/// One Marionette message: `length:json`.
fn marionette_read(stream: &mut std::net::TcpStream) -> Value {
    let mut len = Vec::new();
    let mut byte = [0u8; 1];
    loop {
        stream.read_exact(&mut byte).expect("marionette read");
        if byte[0] == b':' {
            break;
        }
        len.push(byte[0]);
    }
    let n: usize = String::from_utf8_lossy(&len).parse().expect("marionette length");
    let mut body = vec![0u8; n];
    stream.read_exact(&mut body).expect("marionette body");
    serde_json::from_slice(&body).expect("marionette json")
}

impl Drop for Browser {
    fn drop(&mut self) {
        // A test that fails half-way ends no session: its Chromium would outlive ChromeDriver
        // (and keep a core busy), so its processes are killed by their profile folder.
        for pattern in [format!("--user-data-dir={}", self.profile.path().display()), format!("--profile {}", self.profile.path().display())] {
            let _ = Command::new("pkill").args(["-KILL", "-f", "--"]).arg(pattern).status();
        }
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}
