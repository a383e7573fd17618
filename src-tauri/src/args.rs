//! The command line: `--sandbox`, `--data DIR` / `--data=DIR`; anything else is ignored
//! (WebKitWebDriver and desktop launchers may add arguments of their own).

use std::path::PathBuf;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Args {
    pub sandbox: bool,
    pub data: Option<PathBuf>,
}

impl Args {
    pub fn parse(args: impl IntoIterator<Item = String>) -> Args {
        let mut out = Args::default();
        let mut it = args.into_iter();
        while let Some(a) = it.next() {
            if a == "--sandbox" {
                out.sandbox = true;
            } else if a == "--data" {
                if let Some(d) = it.next() {
                    out.data = Some(PathBuf::from(d));
                }
            } else if let Some(d) = a.strip_prefix("--data=") {
                out.data = Some(PathBuf::from(d));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(a: &[&str]) -> Args {
        Args::parse(a.iter().map(|s| s.to_string()))
    }

    #[test]
    fn flags() {
        assert_eq!(parse(&[]), Args::default());
        assert_eq!(
            parse(&["--automation", "--sandbox", "--data", "/tmp/x"]),
            Args {
                sandbox: true,
                data: Some("/tmp/x".into())
            }
        );
        assert_eq!(parse(&["--data=/d"]).data, Some("/d".into()));
        assert!(!parse(&["--data"]).sandbox);
    }
}
