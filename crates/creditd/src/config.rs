//! `creditd serve --config FILE`: a TOML file for the settings a service
//! manager would otherwise spread over a long command line.
//!
//! The file does not get a parser of its own: each key is a `serve` flag's
//! long name (`_` for `-`), checked by that flag's own clap value parser and
//! turned into command-line arguments placed before the user's. So the file
//! cannot accept what the flag refuses, and the precedence is plain: a flag
//! on the command line > its `CREDITD_*` variable > the file > the default.
//! A key whose variable is set, or whose flag the user gave, is checked but
//! not passed on.

use std::any::TypeId;
use std::ffi::OsString;
use std::path::Path;

use anyhow::{Result, anyhow, bail};
use clap::{Arg, ArgAction, Command};

/// Arguments of `serve` that are not settings.
const NOT_KEYS: &[&str] = &["help", "version", "config"];

/// What TOML type a key takes, read from its flag.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Bool,
    Integer,
    String,
    Array,
}

impl Kind {
    fn of(arg: &Arg) -> Kind {
        match arg.get_action() {
            ArgAction::SetTrue | ArgAction::SetFalse => Kind::Bool,
            ArgAction::Append => Kind::Array,
            _ => {
                // A number: parsed to one, or defaulting to one (a newtype
                // such as the org cache's size).
                let ty = arg.get_value_parser().type_id();
                let numeric = [TypeId::of::<u64>(), TypeId::of::<i64>(), TypeId::of::<usize>(), TypeId::of::<u32>()];
                let numeric_type = numeric.iter().any(|t| ty == *t);
                let numeric_default =
                    arg.get_default_values().first().and_then(|d| d.to_str()).is_some_and(|d| d.parse::<i64>().is_ok());
                if numeric_type || numeric_default { Kind::Integer } else { Kind::String }
            }
        }
    }

    fn name(self) -> &'static str {
        match self {
            Kind::Bool => "a boolean (true or false)",
            Kind::Integer => "an integer",
            Kind::String => "a string",
            Kind::Array => "an array of strings",
        }
    }
}

/// The keys a file may hold: the long flags of a built `serve` command
/// (`Command::build` propagates the global ones), each with its flag.
pub fn keys(serve: &Command) -> Vec<(String, &Arg)> {
    serve
        .get_arguments()
        .filter(|a| !NOT_KEYS.contains(&a.get_id().as_str()))
        .filter_map(|a| Some((a.get_long()?.replace('-', "_"), a)))
        .collect()
}

/// Reads the file at `path` and returns the arguments it stands for, to be
/// placed right after `serve` and before the user's own `user_args` (the
/// rest of the command line). Unknown keys, wrong types, values the flag
/// refuses and a `service_key` are errors naming the file, line and key.
pub fn file_args(serve: &Command, path: &Path, user_args: &[OsString]) -> Result<Vec<OsString>> {
    let file = path.display();
    let text = std::fs::read_to_string(path).map_err(|e| anyhow!("reading the configuration file {file}: {e}"))?;
    let syntax = |e: toml::de::Error| {
        let line = e.span().map(|s| format!(":{}", line_of(&text, s.start))).unwrap_or_default();
        anyhow!("{file}{line}: {}", e.message().trim_end())
    };
    // Spans for the messages, values typed by the same parser.
    let spanned = toml::de::DeTable::parse(&text).map_err(syntax)?;
    let table: toml::Table = toml::from_str(&text).map_err(syntax)?;
    let keys = keys(serve);
    let mut args = Vec::new();
    // In the file's order, so the first mistake is the one reported.
    let mut in_order: Vec<_> = spanned.get_ref().keys().collect();
    in_order.sort_by_key(|k| k.span().start);
    for key in in_order {
        let name = key.get_ref().as_ref();
        let at = format!("{file}:{}", line_of(&text, key.span().start));
        if name == "service_key" {
            bail!(
                "{at}: service_key: the service key is a secret and may not be in the configuration file; \
                 set CREDITD_SERVICE_KEY in the environment (with systemd: an EnvironmentFile readable by root only)"
            );
        }
        let Some((_, arg)) = keys.iter().find(|(k, _)| k == name) else {
            let known: Vec<&str> = keys.iter().map(|(k, _)| k.as_str()).collect();
            bail!("{at}: unknown key `{name}` (known keys: {})", known.join(", "));
        };
        let Some(value) = table.get(name) else { bail!("{at}: {name}: cannot read the value") };
        let kind = Kind::of(arg);
        let wrong = || anyhow!("{at}: {name}: expected {}, found {}", kind.name(), value.type_str());
        let raw: Vec<String> = match (kind, value) {
            (Kind::Bool, toml::Value::Boolean(b)) => vec![b.to_string()],
            (Kind::Integer, toml::Value::Integer(i)) => vec![i.to_string()],
            (Kind::String, toml::Value::String(s)) => vec![s.clone()],
            (Kind::Array, toml::Value::Array(items)) => {
                items.iter().map(|i| i.as_str().map(str::to_string).ok_or_else(wrong)).collect::<Result<_>>()?
            }
            _ => return Err(wrong()),
        };
        let long = arg.get_long().unwrap_or(name);
        for v in &raw {
            check_value(arg, long, v).map_err(|e| anyhow!("{at}: {name}: {e}"))?;
        }
        let env_set = arg.get_env().is_some_and(|var| std::env::var_os(var).is_some());
        if env_set || given(user_args, long) {
            continue;
        }
        match kind {
            Kind::Bool => {
                if raw.iter().any(|v| v == "true") {
                    args.push(format!("--{long}").into());
                }
            }
            _ => args.extend(raw.iter().map(|v| OsString::from(format!("--{long}={v}")))),
        }
    }
    Ok(args)
}

/// Runs the flag's own parser (and range) on one value. A boolean flag
/// takes no value; its TOML type was checked already.
fn check_value(arg: &Arg, long: &str, value: &str) -> Result<(), String> {
    if Kind::of(arg) == Kind::Bool {
        return Ok(());
    }
    let cmd = Command::new("creditd").no_binary_name(true).arg(arg.clone().env(None).required(false));
    match cmd.try_get_matches_from([format!("--{long}={value}")]) {
        Ok(_) => Ok(()),
        Err(e) => {
            let text = e.to_string();
            let first = text.lines().next().unwrap_or_default();
            Err(first.trim_start_matches("error: ").to_string())
        }
    }
}

/// Whether the user gave `--long` themselves (before a `--`).
fn given(user_args: &[OsString], long: &str) -> bool {
    let flag = format!("--{long}");
    user_args
        .iter()
        .take_while(|a| *a != "--")
        .filter_map(|a| a.to_str())
        .any(|a| a == flag || a.strip_prefix(flag.as_str()).is_some_and(|rest| rest.starts_with('=')))
}

fn line_of(text: &str, offset: usize) -> usize {
    text.get(..offset).unwrap_or(text).matches('\n').count() + 1
}
