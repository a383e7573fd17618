//! Latency summaries and the machine's facts (CPU, memory, load) printed next to figures.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Percentiles of a set of timings, in milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub n: usize,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    /// p99.9 (absent from results kept before it was added).
    #[serde(default)]
    pub p999_ms: f64,
    pub max_ms: f64,
    pub mean_ms: f64,
}

/// The nearest-rank percentile `p` (0..=1) of sorted values.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = (p * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

impl Summary {
    pub fn of(times: &[Duration]) -> Summary {
        Summary::of_ms(times.iter().map(|d| d.as_secs_f64() * 1e3).collect())
    }

    pub fn of_ms(mut ms: Vec<f64>) -> Summary {
        ms.sort_by(f64::total_cmp);
        let n = ms.len();
        Summary {
            n,
            p50_ms: percentile(&ms, 0.50),
            p90_ms: percentile(&ms, 0.90),
            p99_ms: percentile(&ms, 0.99),
            p999_ms: percentile(&ms, 0.999),
            max_ms: ms.last().copied().unwrap_or(0.0),
            mean_ms: if n == 0 {
                0.0
            } else {
                ms.iter().sum::<f64>() / n as f64
            },
        }
    }
}

/// Median of values (the mean of the middle two for an even count; 0 for none).
pub fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => 0.0,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// Formats milliseconds with sensible precision: `0.042 ms`, `3.1 ms`, `1,234 ms`.
pub fn ms(v: f64) -> String {
    if v < 1.0 {
        format!("{v:.3} ms")
    } else if v < 100.0 {
        format!("{v:.1} ms")
    } else {
        format!("{} ms", group(v.round() as u64))
    }
}

/// `1234567` -> `1,234,567`.
pub fn group(v: u64) -> String {
    let s = v.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Bytes as `12.3 MB` (10^6) or `45.6 KB` (10^3).
pub fn bytes(v: u64) -> String {
    if v >= 1_000_000 {
        format!("{:.1} MB", v as f64 / 1e6)
    } else {
        format!("{:.1} KB", v as f64 / 1e3)
    }
}

/// The 1-, 5- and 15-minute load averages, as `/proc/loadavg` has them.
pub fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| "?".into())
}

/// Facts about this machine for the report.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Machine {
    pub nproc: usize,
    pub cpu_model: String,
    pub mem_total: String,
    pub kernel: String,
    pub rustc: String,
}

impl Machine {
    pub fn probe() -> Machine {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu_model = cpuinfo
            .lines()
            .find(|l| l.starts_with("model name"))
            .and_then(|l| l.split_once(':'))
            .map(|(_, v)| v.trim().to_string())
            .unwrap_or_else(|| "?".into());
        let mem_total = std::fs::read_to_string("/proc/meminfo")
            .unwrap_or_default()
            .lines()
            .find(|l| l.starts_with("MemTotal:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<u64>().ok())
            .map(|kb| format!("{:.1} GiB", kb as f64 / 1024.0 / 1024.0))
            .unwrap_or_else(|| "?".into());
        let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .map(|s| s.trim().to_string())
            .unwrap_or_default();
        let rustc = std::process::Command::new("rustc")
            .arg("--version")
            .output()
            .ok()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_default();
        Machine {
            nproc: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1),
            cpu_model,
            mem_total,
            kernel,
            rustc,
        }
    }
}

/// A process's resident memory (VmRSS) and peak (VmHWM), in bytes.
pub fn rss(pid: u32) -> Option<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<u64>().ok())
            .map(|kb| kb * 1024)
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

/// A process's memory from `/proc/PID/smaps_rollup`, in bytes: resident (RSS), its
/// proportional share of pages shared with other processes (PSS), the pages no other process
/// maps (private: USS) and the anonymous ones (heap, stacks).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Mem {
    pub rss: u64,
    pub pss: u64,
    pub private: u64,
    pub anon: u64,
}

impl Mem {
    pub fn of(pid: u32) -> Option<Mem> {
        let text = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).ok()?;
        Mem::parse(&text)
    }

    fn parse(text: &str) -> Option<Mem> {
        let field = |name: &str| -> Option<u64> {
            text.lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|l| l.split_whitespace().next())
                .and_then(|kb| kb.parse::<u64>().ok())
                .map(|kb| kb * 1024)
        };
        Some(Mem {
            rss: field("Rss:")?,
            pss: field("Pss:")?,
            private: field("Private_Clean:")? + field("Private_Dirty:")?,
            anon: field("Anonymous:")?,
        })
    }

    /// Each figure the higher of the two.
    pub fn max(self, o: Mem) -> Mem {
        Mem {
            rss: self.rss.max(o.rss),
            pss: self.pss.max(o.pss),
            private: self.private.max(o.private),
            anon: self.anon.max(o.anon),
        }
    }

    /// Two processes' figures added.
    pub fn plus(self, o: Mem) -> Mem {
        Mem {
            rss: self.rss + o.rss,
            pss: self.pss + o.pss,
            private: self.private + o.private,
            anon: self.anon + o.anon,
        }
    }
}

/// Resets a process's peak resident memory (VmHWM) to its current VmRSS (`/proc/PID/clear_refs`,
/// value 5; our own child processes). False when the kernel refused.
pub fn reset_peak_rss(pid: u32) -> bool {
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5").is_ok()
}

/// This thread's time on a CPU and time waiting for one (runnable but not running: other
/// processes had the cores), in nanoseconds, from `/proc/thread-self/schedstat`.
pub fn thread_sched_ns() -> Option<(u64, u64)> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let mut it = s.split_whitespace().map(|v| v.parse::<u64>().ok());
    Some((it.next()??, it.next()??))
}

/// CPU time (user + system) a process has used so far, in seconds.
pub fn cpu_seconds(pid: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which is in parentheses and may hold spaces).
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = f.get(11)?.parse().ok()?;
    let stime: f64 = f.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smaps_rollup_is_read_in_bytes() {
        let text = "55d0-7ffd ---p 00000000 00:00 0 [rollup]\nRss:  1000 kB\nPss:  600 kB\n\
                    Pss_Dirty: 300 kB\nShared_Clean: 400 kB\nPrivate_Clean: 100 kB\n\
                    Private_Dirty: 500 kB\nAnonymous: 450 kB\n";
        let m = Mem::parse(text).unwrap();
        assert_eq!(
            m,
            Mem {
                rss: 1_024_000,
                pss: 614_400,
                private: 614_400,
                anon: 460_800
            }
        );
        assert_eq!(Mem::parse("Rss: 1 kB\n"), None);
    }

    #[test]
    fn percentiles() {
        let s = Summary::of_ms((1..=100).map(f64::from).collect());
        assert_eq!(s.p50_ms, 50.0);
        assert_eq!(s.p99_ms, 99.0);
        assert_eq!(s.p999_ms, 100.0);
        assert_eq!(s.max_ms, 100.0);
        assert_eq!(s.n, 100);
        assert_eq!(Summary::of_ms(vec![]).p99_ms, 0.0);
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0]), 2.5);
        assert_eq!(median(&[]), 0.0);
        let s = Summary::of_ms((1..=10_000).map(f64::from).collect());
        assert!(s.p99_ms < s.p999_ms && s.p999_ms < s.max_ms);
    }

    #[test]
    fn formats() {
        assert_eq!(group(1_234_567), "1,234,567");
        assert_eq!(group(12), "12");
        assert_eq!(ms(0.0421), "0.042 ms");
        assert_eq!(ms(1234.4), "1,234 ms");
        assert_eq!(bytes(1_500_000), "1.5 MB");
    }

    #[test]
    fn own_process() {
        let pid = std::process::id();
        let (rss, hwm) = rss(pid).unwrap();
        assert!(rss > 0 && hwm >= rss);
        assert!(cpu_seconds("self").is_some());
        assert!(thread_sched_ns().is_some());
    }
}
