//! The process's own gauges, read from `/proc/self` at every scrape under the names every
//! Prometheus client library uses (so stock dashboards and alerts work unchanged):
//! `process_resident_memory_bytes`, `process_virtual_memory_bytes`, `process_open_fds`,
//! `process_max_fds`, `process_cpu_seconds_total`, `process_threads` and
//! `process_start_time_seconds`.
//!
//! Read by hand rather than through the `prometheus` crate's `process` feature, which would
//! bring `procfs` and a second `rustix` for seven numbers. Where `/proc` is missing (not Linux)
//! or unreadable the series are simply absent: a scrape never fails for them.
//!
//! CPU time in `/proc/self/stat` counts in clock ticks of `USER_HZ`, which Linux fixes at 100
//! for user space on every architecture we build for (x86-64, aarch64); asking `sysconf`
//! would need `unsafe`, which the workspace forbids.

use prometheus::core::{Collector, Desc};
use prometheus::proto::MetricFamily;
use prometheus::{Counter, Gauge, IntGauge, Opts};

/// Clock ticks per second of the CPU times in `/proc/self/stat` (`USER_HZ`).
const USER_HZ: f64 = 100.0;

/// What one reading of `/proc/self` found; `None` where a file or field was unreadable.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct Sample {
    resident_bytes: Option<i64>,
    virtual_bytes: Option<i64>,
    threads: Option<i64>,
    /// User plus system CPU time of every thread, in seconds.
    cpu_seconds: Option<f64>,
    /// Seconds since the Unix epoch.
    start_time: Option<f64>,
    open_fds: Option<i64>,
    max_fds: Option<i64>,
}

/// Reads the process's figures now.
fn read_self() -> Sample {
    let read = |path: &str| std::fs::read_to_string(path).ok();
    let mut sample = Sample::default();
    if let Some(status) = read("/proc/self/status") {
        sample.resident_bytes = status_kib(&status, "VmRSS:").map(|k| k * 1024);
        sample.virtual_bytes = status_kib(&status, "VmSize:").map(|k| k * 1024);
        sample.threads = status_kib(&status, "Threads:");
    }
    if let Some(stat) = read("/proc/self/stat") {
        let fields = stat_fields(&stat);
        sample.cpu_seconds = fields.cpu_ticks.map(|t| t as f64 / USER_HZ);
        let boot = read("/proc/stat").and_then(|s| boot_time(&s));
        sample.start_time = fields.start_ticks.zip(boot).map(|(t, b)| b as f64 + t as f64 / USER_HZ);
    }
    sample.open_fds = std::fs::read_dir("/proc/self/fd").ok().map(|d| d.count() as i64);
    sample.max_fds = read("/proc/self/limits").and_then(|l| max_open_files(&l));
    sample
}

/// The number after `key` in `/proc/self/status` (`VmRSS:   2188 kB` gives 2188).
fn status_kib(status: &str, key: &str) -> Option<i64> {
    status.lines().find_map(|l| l.strip_prefix(key)).and_then(|rest| rest.split_whitespace().next()).and_then(|v| v.parse().ok())
}

/// The fields of `/proc/self/stat` this collector uses, in clock ticks.
#[derive(Debug, Default, PartialEq)]
struct StatFields {
    /// `utime + stime` (fields 14 and 15).
    cpu_ticks: Option<u64>,
    /// `starttime` (field 22): ticks after boot.
    start_ticks: Option<u64>,
}

/// Parses `/proc/self/stat`. The command name (field 2) is in parentheses and may hold spaces
/// and parentheses itself, so fields are counted after its last `)`.
fn stat_fields(stat: &str) -> StatFields {
    let Some((_, rest)) = stat.rsplit_once(')') else { return StatFields::default() };
    // `rest` starts at field 3 (the state): field n is at index n - 3.
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let field = |n: usize| fields.get(n - 3).and_then(|v| v.parse::<u64>().ok());
    StatFields { cpu_ticks: field(14).zip(field(15)).map(|(u, s)| u + s), start_ticks: field(22) }
}

/// The boot time (`btime`, seconds since the epoch) in `/proc/stat`.
fn boot_time(stat: &str) -> Option<u64> {
    stat.lines().find_map(|l| l.strip_prefix("btime ")).and_then(|v| v.trim().parse().ok())
}

/// The soft limit of `Max open files` in `/proc/self/limits` (`None` when unlimited).
fn max_open_files(limits: &str) -> Option<i64> {
    limits.lines().find_map(|l| l.strip_prefix("Max open files")).and_then(|rest| rest.split_whitespace().next()).and_then(|v| v.parse().ok())
}

/// A Prometheus collector reading `/proc/self` whenever the registry is gathered.
pub(super) struct ProcessCollector {
    descs: Vec<Desc>,
    resident: IntGauge,
    virtual_memory: IntGauge,
    threads: IntGauge,
    cpu: Counter,
    start_time: Gauge,
    open_fds: IntGauge,
    max_fds: IntGauge,
}

impl ProcessCollector {
    /// The collector with its series described (names and help are constants: cannot fail).
    pub(super) fn new() -> ProcessCollector {
        let gauge = |name: &str, help: &str| IntGauge::with_opts(Opts::new(name, help)).expect("valid gauge");
        let collector = ProcessCollector {
            descs: Vec::new(),
            resident: gauge("process_resident_memory_bytes", "Resident memory size in bytes"),
            virtual_memory: gauge("process_virtual_memory_bytes", "Virtual memory size in bytes"),
            threads: gauge("process_threads", "Number of OS threads in the process"),
            cpu: Counter::with_opts(Opts::new("process_cpu_seconds_total", "Total user and system CPU time spent in seconds")).expect("valid counter"),
            start_time: Gauge::with_opts(Opts::new("process_start_time_seconds", "Start time of the process since the Unix epoch in seconds"))
                .expect("valid gauge"),
            open_fds: gauge("process_open_fds", "Number of open file descriptors"),
            max_fds: gauge("process_max_fds", "Maximum number of open file descriptors"),
        };
        let descs = collector.collectors().iter().flat_map(|c| c.desc()).cloned().collect();
        ProcessCollector { descs, ..collector }
    }

    fn collectors(&self) -> [&dyn Collector; 7] {
        [&self.resident, &self.virtual_memory, &self.threads, &self.cpu, &self.start_time, &self.open_fds, &self.max_fds]
    }

    /// Sets the series from `sample`; unread figures leave their series out of this scrape.
    fn families(&self, sample: Sample) -> Vec<MetricFamily> {
        let mut families = Vec::new();
        let mut int = |gauge: &IntGauge, value: Option<i64>| {
            if let Some(v) = value {
                gauge.set(v);
                families.extend(gauge.collect());
            }
        };
        int(&self.resident, sample.resident_bytes);
        int(&self.virtual_memory, sample.virtual_bytes);
        int(&self.threads, sample.threads);
        int(&self.open_fds, sample.open_fds);
        int(&self.max_fds, sample.max_fds);
        if let Some(total) = sample.cpu_seconds {
            // A counter only goes up: add what was spent since the last scrape.
            let delta = total - self.cpu.get();
            if delta > 0.0 {
                self.cpu.inc_by(delta);
            }
            families.extend(self.cpu.collect());
        }
        if let Some(start) = sample.start_time {
            self.start_time.set(start);
            families.extend(self.start_time.collect());
        }
        families
    }
}

impl Collector for ProcessCollector {
    fn desc(&self) -> Vec<&Desc> {
        self.descs.iter().collect()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        self.families(read_self())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_stat_fields_after_a_command_name_holding_spaces_and_parentheses() {
        let stat = "4242 (luckygas (serve) x) S 1 4242 4242 0 -1 4194560 2000 0 0 0 250 75 0 0 20 0 9 0 123456 1000000 500 18446744073709551615";
        assert_eq!(stat_fields(stat), StatFields { cpu_ticks: Some(325), start_ticks: Some(123_456) });
        assert_eq!(stat_fields("garbage"), StatFields::default());
        assert_eq!(stat_fields("1 (x) S 1"), StatFields::default(), "a short line gives nothing, not a panic");
    }

    #[test]
    fn reads_kib_figures_limits_and_boot_time() {
        let status = "Name:\tluckygas\nVmSize:\t  3892 kB\nVmRSS:\t    2188 kB\nThreads:\t7\n";
        assert_eq!((status_kib(status, "VmRSS:"), status_kib(status, "VmSize:"), status_kib(status, "Threads:")), (Some(2188), Some(3892), Some(7)));
        assert_eq!(status_kib(status, "VmSwap:"), None);
        let limits = "Limit                     Soft Limit           Hard Limit           Units     \nMax open files            1024                 524288               files     \n";
        assert_eq!(max_open_files(limits), Some(1024));
        assert_eq!(max_open_files("Max open files            unlimited            unlimited            files\n"), None);
        assert_eq!(boot_time("cpu  1 2 3\nbtime 1796409555\nprocesses 9\n"), Some(1_796_409_555));
    }

    #[test]
    fn the_cpu_counter_follows_the_process_total_and_never_goes_back() {
        let c = ProcessCollector::new();
        let cpu =
            |families: &[MetricFamily]| families.iter().find(|f| f.name() == "process_cpu_seconds_total").map(|f| f.get_metric()[0].get_counter().get_value());
        assert_eq!(cpu(&c.families(Sample { cpu_seconds: Some(2.5), ..Sample::default() })), Some(2.5));
        assert_eq!(cpu(&c.families(Sample { cpu_seconds: Some(4.0), ..Sample::default() })), Some(4.0));
        assert_eq!(cpu(&c.families(Sample { cpu_seconds: Some(3.0), ..Sample::default() })), Some(4.0));
        assert!(c.families(Sample::default()).is_empty(), "nothing read, nothing exposed");
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn reads_this_process_on_linux() {
        let s = read_self();
        assert!(s.resident_bytes.is_some_and(|r| r > 0) && s.virtual_bytes >= s.resident_bytes, "{s:?}");
        assert!(s.threads.is_some_and(|t| t >= 1) && s.open_fds.is_some_and(|n| n >= 1), "{s:?}");
        assert!(s.cpu_seconds.is_some_and(|c| c >= 0.0), "{s:?}");
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("after 1970").as_secs_f64();
        assert!(s.start_time.is_some_and(|t| t > now - 86_400.0 * 365.0 && t <= now + 1.0), "{s:?} now {now}");
    }
}
