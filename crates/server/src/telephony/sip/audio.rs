//! Prompt audio for SIP calls: 8 kHz 16-bit mono samples for each prompt text.
//!
//! Lookup order for a (language, text) pair, keyed by [`prompt_key`]:
//! 1. a recorded file `DATA/prompts/<key>.wav` (any PCM16 mono/stereo WAV; resampled),
//! 2. the cache `DATA/prompt-cache/<voice>/<key>.wav` made earlier,
//! 3. text-to-speech now: `espeak-ng` (`-v ko` / `-v en`) to WAV, converted to 8 kHz by `sox`
//!    (or by our own resampler when sox is missing), written to the cache with a `<key>.txt`
//!    beside it naming the text (so that recordings can be made for it);
//! 4. without espeak-ng, a short tone per prompt (a warning is logged once).
//!
//! Numbers in prompt texts are spoken as Korean words in Korean calls ([`speakable`]).
//! Prompt texts never carry card data (see `fieldpay_ivr::Prompt`), so caching them is safe.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use fieldpay_ivr::Lang;
use sha2::{Digest, Sha256};
use tokio::sync::{OnceCell, Semaphore};

/// Samples at 8 kHz.
pub type Samples = Arc<Vec<i16>>;

const RATE: u32 = 8000;
/// The cache folder's name under `prompt-cache`: change it when the synthesis settings change,
/// so old cache files are not used.
const VOICE_VERSION: &str = "espeak-ng-v1";
/// Cache files kept; the oldest are removed beyond this (per-charge prompts such as amounts
/// and approval numbers make new texts every call).
const CACHE_MAX_FILES: usize = 4000;

/// The cache key of a prompt: hex SHA-256 (first 32 digits) of language and text.
pub fn prompt_key(lang: Lang, text: &str) -> String {
    let mut h = Sha256::new();
    h.update(match lang {
        Lang::Ko => b"ko\n".as_slice(),
        Lang::En => b"en\n".as_slice(),
    });
    h.update(text.as_bytes());
    hex::encode(&h.finalize()[..16])
}

/// Prompt texts with numbers as words: in Korean every run of digits is read in Sino-Korean
/// ("1번" -> "일번", "12개월" -> "십이개월", "120,000원" -> "십이만원"); runs that look like codes
/// (a leading 0, or more than 12 digits) are read digit by digit. English text is left to the
/// speech engine, which reads digits in English.
pub fn speakable(lang: Lang, text: &str) -> String {
    if lang == Lang::En {
        return text.to_string();
    }
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len() * 2);
    let mut i = 0;
    while i < chars.len() {
        if !chars[i].is_ascii_digit() {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        // A run of digits, with thousands separators inside ("120,000").
        let mut run = String::new();
        let mut j = i;
        while j < chars.len() {
            if chars[j].is_ascii_digit() {
                run.push(chars[j]);
                j += 1;
            } else if chars[j] == ','
                && chars
                    .get(j + 1..j + 4)
                    .is_some_and(|d| d.iter().all(char::is_ascii_digit))
                && !chars.get(j + 4).is_some_and(char::is_ascii_digit)
            {
                j += 1;
            } else {
                break;
            }
        }
        let code_like = (run.len() > 1 && run.starts_with('0')) || run.len() > 12;
        if code_like {
            out.push_str(&fieldpay_ivr::digits_words(&run, Lang::Ko));
        } else {
            out.push_str(&fieldpay_ivr::korean_number_words(run.parse().unwrap_or(0)));
        }
        i = j;
    }
    out
}

/// Where prompt audio comes from, with an in-memory cache.
pub struct PromptAudio {
    recorded_dir: PathBuf,
    cache_dir: PathBuf,
    memory: Mutex<HashMap<String, Samples>>,
    pending: Mutex<HashMap<String, Arc<OnceCell<Samples>>>>,
    /// Speech synthesis runs at most this many at once (2-core machines).
    synth: Semaphore,
    warned: AtomicBool,
    espeak: OnceCell<Option<PathBuf>>,
    sox: OnceCell<Option<PathBuf>>,
}

const MEMORY_MAX: usize = 512;

fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

impl PromptAudio {
    pub fn new(data_dir: &Path) -> Self {
        PromptAudio {
            recorded_dir: data_dir.join("prompts"),
            cache_dir: data_dir.join("prompt-cache").join(VOICE_VERSION),
            memory: Mutex::new(HashMap::new()),
            pending: Mutex::new(HashMap::new()),
            synth: Semaphore::new(2),
            warned: AtomicBool::new(false),
            espeak: OnceCell::new(),
            sox: OnceCell::new(),
        }
    }

    /// The audio for one prompt (never fails: a tone stands in when nothing else works).
    pub async fn get(&self, lang: Lang, text: &str) -> Samples {
        let key = prompt_key(lang, text);
        if let Some(s) = self
            .memory
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&key)
        {
            return s.clone();
        }
        // One synthesis per key even when many calls ask at once.
        let cell = self
            .pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(key.clone())
            .or_insert_with(|| Arc::new(OnceCell::new()))
            .clone();
        let samples = cell
            .get_or_init(|| async { self.load_or_make(lang, text, &key).await })
            .await
            .clone();
        {
            let mut mem = self.memory.lock().unwrap_or_else(|p| p.into_inner());
            if mem.len() >= MEMORY_MAX {
                mem.clear();
            }
            mem.insert(key.clone(), samples.clone());
        }
        self.pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&key);
        samples
    }

    async fn load_or_make(&self, lang: Lang, text: &str, key: &str) -> Samples {
        let recorded = self.recorded_dir.join(format!("{key}.wav"));
        if let Some(s) = read_wav_8k(&recorded).await {
            return Arc::new(s);
        }
        let cached = self.cache_dir.join(format!("{key}.wav"));
        if let Some(s) = read_wav_8k(&cached).await {
            return Arc::new(s);
        }
        match self.synthesize(lang, text, &cached).await {
            Ok(s) => {
                let _ = tokio::fs::write(self.cache_dir.join(format!("{key}.txt")), text).await;
                self.prune_cache().await;
                Arc::new(s)
            }
            Err(e) => {
                if !self.warned.swap(true, Ordering::Relaxed) {
                    tracing::warn!(error = %e, "no speech synthesis for SIP prompts (install espeak-ng and sox): playing tones instead");
                }
                Arc::new(tone(300, 440.0))
            }
        }
    }

    async fn synthesize(&self, lang: Lang, text: &str, out: &Path) -> anyhow::Result<Vec<i16>> {
        let espeak = self
            .espeak
            .get_or_init(|| async { which("espeak-ng") })
            .await
            .clone()
            .ok_or_else(|| anyhow::anyhow!("espeak-ng not found on PATH"))?;
        let sox = self
            .sox
            .get_or_init(|| async { which("sox") })
            .await
            .clone();
        let _permit = self.synth.acquire().await?;
        tokio::fs::create_dir_all(&self.cache_dir).await?;
        let voice = match lang {
            Lang::Ko => "ko",
            Lang::En => "en",
        };
        let spoken = speakable(lang, text);
        let raw = out.with_extension(format!("{}.tmp.wav", std::process::id()));
        let status = tokio::process::Command::new(&espeak)
            .args(["-v", voice, "-s", "165", "-w"])
            .arg(&raw)
            .arg("--")
            .arg(&spoken)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .status()
            .await?;
        if !status.success() {
            let _ = tokio::fs::remove_file(&raw).await;
            anyhow::bail!("espeak-ng failed ({status})");
        }
        let tmp = out.with_extension(format!("{}.tmp8k.wav", std::process::id()));
        let converted = match &sox {
            Some(sox) => tokio::process::Command::new(sox)
                .arg(&raw)
                .args(["-r", "8000", "-c", "1", "-b", "16", "-e", "signed-integer"])
                .arg(&tmp)
                .args(["highpass", "200", "gain", "-n", "-3"])
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .kill_on_drop(true)
                .status()
                .await
                .map(|s| s.success())
                .unwrap_or(false),
            None => false,
        };
        let samples = if converted {
            read_wav_8k(&tmp)
                .await
                .ok_or_else(|| anyhow::anyhow!("sox output unreadable"))?
        } else {
            // Our own conversion (sox missing or failed).
            let _ = tokio::fs::remove_file(&tmp).await;
            read_wav_8k(&raw)
                .await
                .ok_or_else(|| anyhow::anyhow!("espeak-ng output unreadable"))?
        };
        let _ = tokio::fs::remove_file(&raw).await;
        if converted {
            tokio::fs::rename(&tmp, out).await?;
        } else {
            tokio::fs::write(&tmp, wav_bytes(&samples, RATE)).await?;
            tokio::fs::rename(&tmp, out).await?;
        }
        Ok(samples)
    }

    async fn prune_cache(&self) {
        let dir = self.cache_dir.clone();
        let _ = tokio::task::spawn_blocking(move || prune_dir(&dir, CACHE_MAX_FILES)).await;
    }
}

/// Removes the oldest `.wav`/`.txt` pairs beyond `max` WAV files.
fn prune_dir(dir: &Path, max: usize) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut wavs: Vec<(std::time::SystemTime, PathBuf)> = rd
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "wav"))
        .filter_map(|p| Some((std::fs::metadata(&p).ok()?.modified().ok()?, p)))
        .collect();
    if wavs.len() <= max {
        return;
    }
    wavs.sort();
    let excess = wavs.len() - max;
    for (_, p) in wavs.into_iter().take(excess) {
        let _ = std::fs::remove_file(p.with_extension("txt"));
        let _ = std::fs::remove_file(p);
    }
}

/// A sine tone of `ms` milliseconds at 8 kHz, faded in and out.
pub fn tone(ms: u32, freq: f32) -> Vec<i16> {
    let n = (RATE * ms / 1000) as usize;
    let fade = 80.min(n / 2).max(1);
    (0..n)
        .map(|i| {
            let t = i as f32 / RATE as f32;
            let env = (i.min(n - 1 - i) as f32 / fade as f32).min(1.0);
            (8000.0 * env * (2.0 * std::f32::consts::PI * freq * t).sin()) as i16
        })
        .collect()
}

/// Reads a PCM16 WAV file and returns mono 8 kHz samples (mixed down and resampled when
/// needed). None when missing or not a PCM16 WAV.
pub async fn read_wav_8k(path: &Path) -> Option<Vec<i16>> {
    let bytes = tokio::fs::read(path).await.ok()?;
    let (rate, channels, pcm) = parse_wav(&bytes)?;
    let mono: Vec<i16> = if channels == 1 {
        pcm
    } else {
        pcm.chunks(usize::from(channels))
            .map(|c| (c.iter().map(|&s| i32::from(s)).sum::<i32>() / c.len() as i32) as i16)
            .collect()
    };
    Some(resample(&mono, rate, RATE))
}

/// (sample rate, channels, interleaved samples) of a PCM16 WAV.
pub fn parse_wav(b: &[u8]) -> Option<(u32, u16, Vec<i16>)> {
    if b.len() < 12 || &b[0..4] != b"RIFF" || &b[8..12] != b"WAVE" {
        return None;
    }
    let mut pos = 12;
    let mut fmt: Option<(u16, u16, u32, u16)> = None;
    while pos + 8 <= b.len() {
        let id = &b[pos..pos + 4];
        let size = u32::from_le_bytes(b[pos + 4..pos + 8].try_into().ok()?) as usize;
        let body_start = pos + 8;
        // espeak-ng writes 0x7fffffff as the data size when it streams: take what is there.
        let body_end = body_start.saturating_add(size).min(b.len());
        let body = &b[body_start..body_end];
        if id == b"fmt " && body.len() >= 16 {
            let format = u16::from_le_bytes([body[0], body[1]]);
            let channels = u16::from_le_bytes([body[2], body[3]]);
            let rate = u32::from_le_bytes(body[4..8].try_into().ok()?);
            let bits = u16::from_le_bytes([body[14], body[15]]);
            fmt = Some((format, channels, rate, bits));
        } else if id == b"data" {
            let (format, channels, rate, bits) = fmt?;
            // 1 = PCM, 0xFFFE = extensible (PCM assumed).
            if !(format == 1 || format == 0xFFFE) || bits != 16 || channels == 0 || rate == 0 {
                return None;
            }
            let samples = body
                .chunks_exact(2)
                .map(|c| i16::from_le_bytes([c[0], c[1]]))
                .collect();
            return Some((rate, channels, samples));
        }
        pos = body_start.saturating_add(size + (size & 1));
    }
    None
}

/// A PCM16 mono WAV file.
pub fn wav_bytes(samples: &[i16], rate: u32) -> Vec<u8> {
    let data_len = (samples.len() * 2) as u32;
    let mut out = Vec::with_capacity(44 + samples.len() * 2);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(36 + data_len).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&rate.to_le_bytes());
    out.extend_from_slice(&(rate * 2).to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&16u16.to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&data_len.to_le_bytes());
    for s in samples {
        out.extend_from_slice(&s.to_le_bytes());
    }
    out
}

/// Resamples with a windowed-sinc low-pass (cut-off below the lower Nyquist frequency), good
/// enough for speech on the phone.
pub fn resample(input: &[i16], from: u32, to: u32) -> Vec<i16> {
    if from == to || input.is_empty() {
        return input.to_vec();
    }
    let ratio = f64::from(to) / f64::from(from);
    let out_len = ((input.len() as f64) * ratio).floor() as usize;
    let cutoff = ratio.min(1.0) * 0.45; // of the input rate
    const HALF: i64 = 16;
    let mut out = Vec::with_capacity(out_len);
    for n in 0..out_len {
        let center = n as f64 / ratio;
        let c = center.floor() as i64;
        let mut acc = 0.0f64;
        let mut norm = 0.0f64;
        let span = (HALF as f64 / (cutoff * 2.0)).ceil() as i64;
        for k in (c - span + 1)..=(c + span) {
            if k < 0 || k as usize >= input.len() {
                continue;
            }
            let x = k as f64 - center;
            let arg = 2.0 * cutoff * x;
            let sinc = if arg.abs() < 1e-9 {
                1.0
            } else {
                (std::f64::consts::PI * arg).sin() / (std::f64::consts::PI * arg)
            };
            // Hann window over the kernel span.
            let w = 0.5 + 0.5 * (std::f64::consts::PI * x / span as f64).cos();
            let h = sinc * w;
            acc += f64::from(input[k as usize]) * h;
            norm += h;
        }
        let v = if norm.abs() > 1e-9 { acc / norm } else { 0.0 };
        out.push(v.round().clamp(-32768.0, 32767.0) as i16);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_differ_by_language_and_text() {
        let a = prompt_key(Lang::Ko, "안녕하세요");
        assert_eq!(a.len(), 32);
        assert_eq!(a, prompt_key(Lang::Ko, "안녕하세요"));
        assert_ne!(a, prompt_key(Lang::En, "안녕하세요"));
        assert_ne!(a, prompt_key(Lang::Ko, "안녕하세요."));
    }

    #[test]
    fn numbers_become_korean_words() {
        assert_eq!(
            speakable(
                Lang::Ko,
                "결제하시려면 1번, 거절하시려면 2번을 눌러 주세요."
            ),
            "결제하시려면 일번, 거절하시려면 이번을 눌러 주세요."
        );
        assert_eq!(
            speakable(Lang::Ko, "할부는 2개월부터 12개월까지"),
            "할부는 이개월부터 십이개월까지"
        );
        assert_eq!(speakable(Lang::Ko, "일시불은 0번을"), "일시불은 영번을");
        assert_eq!(
            speakable(Lang::Ko, "감기약 120,000원, 1,5"),
            "감기약 십이만원, 일,오"
        );
        assert_eq!(
            speakable(Lang::Ko, "문의 01012345678"),
            "문의 영 일 영 일 이 삼 사 오 육 칠 팔"
        );
        assert_eq!(speakable(Lang::En, "press 1"), "press 1");
        // Every Korean prompt text of the IVR comes out without ASCII digits.
        for p in [
            fieldpay_ivr::Prompt::PayOrDecline,
            fieldpay_ivr::Prompt::InstallmentsAsk,
            fieldpay_ivr::Prompt::AutoPayConfirm {
                issuer_name: "신한".into(),
                last4: "0042".into(),
            },
            fieldpay_ivr::Prompt::Approved {
                issuer_name: "BC카드".into(),
                amount: 1_234_567,
                installment_months: 3,
                approval_number: "00012345".into(),
            },
        ] {
            let s = speakable(Lang::Ko, &p.text(Lang::Ko));
            assert!(!s.chars().any(|c| c.is_ascii_digit()), "{s}");
        }
    }

    #[test]
    fn wav_round_trip_and_resample() {
        let tone8k = tone(100, 400.0);
        let bytes = wav_bytes(&tone8k, 8000);
        let (rate, ch, back) = parse_wav(&bytes).unwrap();
        assert_eq!((rate, ch), (8000, 1));
        assert_eq!(back, tone8k);
        // 22050 Hz -> 8000 Hz keeps the length ratio and a 400 Hz tone's level.
        let n = 22050 / 10;
        let hi: Vec<i16> = (0..n)
            .map(|i| {
                (8000.0 * (2.0 * std::f64::consts::PI * 400.0 * i as f64 / 22050.0).sin()) as i16
            })
            .collect();
        let lo = resample(&hi, 22050, 8000);
        assert_eq!(lo.len(), 800);
        let peak = lo[100..700].iter().map(|s| s.unsigned_abs()).max().unwrap();
        assert!((7000..=8600).contains(&peak), "peak {peak}");
        // A 6 kHz tone (above the new Nyquist) is filtered out.
        let alias: Vec<i16> = (0..n)
            .map(|i| {
                (8000.0 * (2.0 * std::f64::consts::PI * 6000.0 * i as f64 / 22050.0).sin()) as i16
            })
            .collect();
        let lo = resample(&alias, 22050, 8000);
        let peak = lo[100..700].iter().map(|s| s.unsigned_abs()).max().unwrap();
        assert!(peak < 1200, "alias peak {peak}");
        assert!(parse_wav(b"RIFF\0\0\0\0WAVE").is_none());
    }

    #[test]
    fn prune_keeps_the_newest() {
        let dir = tempfile::tempdir().unwrap();
        for i in 0..5 {
            let p = dir.path().join(format!("{i}.wav"));
            std::fs::write(&p, b"x").unwrap();
            std::fs::write(p.with_extension("txt"), b"t").unwrap();
            let t = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1000 + i);
            std::fs::File::options()
                .write(true)
                .open(&p)
                .unwrap()
                .set_modified(t)
                .unwrap();
        }
        prune_dir(dir.path(), 3);
        let mut left: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left, ["2.txt", "2.wav", "3.txt", "3.wav", "4.txt", "4.wav"]);
    }

    #[tokio::test]
    async fn synthesizes_and_caches_when_espeak_is_installed() {
        if which("espeak-ng").is_none() {
            // The integration tests (tests/it/sip.rs) require espeak-ng and say so; this unit
            // test checks the fallback instead.
            let dir = tempfile::tempdir().unwrap();
            let pa = PromptAudio::new(dir.path());
            let s = pa.get(Lang::Ko, "안녕하세요").await;
            assert_eq!(s.len(), 2400);
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let pa = PromptAudio::new(dir.path());
        let s = pa.get(Lang::Ko, "결제하시려면 1번을 눌러 주세요.").await;
        assert!(s.len() > 8000, "at least a second of speech: {}", s.len());
        let key = prompt_key(Lang::Ko, "결제하시려면 1번을 눌러 주세요.");
        let cached = dir
            .path()
            .join("prompt-cache")
            .join(VOICE_VERSION)
            .join(format!("{key}.wav"));
        assert!(cached.is_file());
        let (rate, ch, _) = parse_wav(&std::fs::read(&cached).unwrap()).unwrap();
        assert_eq!((rate, ch), (8000, 1));
        // A recorded file wins over the cache.
        std::fs::create_dir_all(dir.path().join("prompts")).unwrap();
        std::fs::write(
            dir.path().join("prompts").join(format!("{key}.wav")),
            wav_bytes(&tone(50, 1000.0), 8000),
        )
        .unwrap();
        let pa2 = PromptAudio::new(dir.path());
        assert_eq!(
            pa2.get(Lang::Ko, "결제하시려면 1번을 눌러 주세요.")
                .await
                .len(),
            400
        );
    }
}
