//! The Tauri commands (docs/app-shell.md). Each is a one-line call into the engine or the
//! session launcher; errors reach the UI as `ApiError` (`{ "code": "...", "message": "..." }`).
//!
//! Every command is defined once, in `fieldpay_protocol::command`: its name, its arguments and
//! its answer. A handler is written with [`handler!`], which takes the protocol's argument
//! struct as the whole argument object ([`Args`]), answers its `Answer` type, and checks at
//! compile time that the function's name is the protocol's command name; `lib.rs` checks at
//! compile time that the registered handlers are exactly the protocol's commands.
//!
//! Engine calls that touch SQLite or render files run on the blocking pool ([`with_engine`]), so
//! neither the UI thread nor the async workers wait on them.

/// Defines the handler of a protocol command:
///
/// ```ignore
/// handler! {
///     /// Doc comment.
///     cmd::Charge => async fn charge(args, state: State<'_, AppState>) {
///         with_engine(&state, move |e| e.charge(args.charge_id.as_str())).await
///     }
/// }
/// ```
///
/// `args` is the command's argument struct (the whole JSON object the UI sent); the body
/// answers `Res<Answer>`. With `bytes` before `async`, the command answers `Bytes` and the UI
/// receives them as raw bytes (`tauri::ipc::Response`), not JSON. The function's name must be
/// the command's protocol name, or the crate does not compile.
macro_rules! handler {
    ($(#[$attr:meta])* $cmd:ty => async fn $name:ident($args:ident $(, $p:ident: $t:ty)* $(,)?) $body:block) => {
        $(#[$attr])*
        #[tauri::command(rename_all = "snake_case")]
        pub async fn $name(
            $args: $crate::command::Args<$cmd>,
            $($p: $t),*
        ) -> $crate::command::Res<<$cmd as fieldpay_protocol::command::Command>::Answer> {
            let $crate::command::Args($args) = $args;
            $body
        }
        $crate::command::handler!(@name $cmd, $name);
    };
    ($(#[$attr:meta])* $cmd:ty => bytes async fn $name:ident($args:ident $(, $p:ident: $t:ty)* $(,)?) $body:block) => {
        $(#[$attr])*
        #[tauri::command(rename_all = "snake_case")]
        pub async fn $name(
            $args: $crate::command::Args<$cmd>,
            $($p: $t),*
        ) -> $crate::command::Res<tauri::ipc::Response> {
            let $crate::command::Args($args) = $args;
            let answer: $crate::command::Res<<$cmd as fieldpay_protocol::command::Command>::Answer> =
                async { $body }.await;
            let fieldpay_protocol::command::Bytes(bytes) = answer?;
            Ok(tauri::ipc::Response::new(bytes))
        }
        $crate::command::handler!(@name $cmd, $name);
    };
    (@name $cmd:ty, $name:ident) => {
        const _: () = assert!(
            fieldpay_protocol::command::same_name(
                <$cmd as fieldpay_protocol::command::Command>::NAME,
                stringify!($name)
            ),
            concat!("handler `", stringify!($name), "` is not named as its protocol command")
        );
    };
}
pub(crate) use handler;

pub mod charges;
pub mod collections;
pub mod documents;
pub mod manager;
pub mod orders;
pub mod problems;
pub mod records;
pub mod session;
pub mod shares;
pub mod visits;

use chrono::{DateTime, Utc};
use fieldpay_core::{CoreResult, Engine};
use fieldpay_protocol::command::{Command, ListQuery};
use fieldpay_protocol::{AccountId, ApiError, ErrorCode};
use tauri::ipc::{CommandArg, CommandItem, InvokeBody, InvokeError};
use tauri::Runtime;

use crate::state::AppState;

pub type Res<T> = Result<T, ApiError>;

/// A command's arguments: the whole JSON object the UI sent, decoded as the protocol's
/// argument struct `C` (Tauri's own argument decoding takes one key per function parameter).
pub struct Args<C>(pub C);

impl<'de, C: Command, R: Runtime> CommandArg<'de, R> for Args<C> {
    fn from_command(item: CommandItem<'de, R>) -> Result<Self, InvokeError> {
        let decoded = match item.message.payload() {
            InvokeBody::Json(v) => C::deserialize(v).map_err(|e| e.to_string()),
            InvokeBody::Raw(_) => Err("raw bytes instead of a JSON object".to_string()),
        };
        decoded.map(Args).map_err(|e| {
            InvokeError::from(ApiError::new(
                ErrorCode::MalformedBody,
                format!("{} arguments: {e}", C::NAME),
            ))
        })
    }
}

/// Runs `f` with the current engine on the blocking pool.
pub async fn with_engine<T, F>(state: &AppState, f: F) -> Res<T>
where
    T: Send + 'static,
    F: FnOnce(&Engine) -> CoreResult<T> + Send + 'static,
{
    let engine = state.engine()?;
    tauri::async_runtime::spawn_blocking(move || f(&engine))
        .await
        .map_err(|e| ApiError::new(ErrorCode::Internal, e.to_string()))?
        .map_err(|e| e.to_api())
}

/// An async engine call's result as the UI receives it.
pub fn api<T>(r: CoreResult<T>) -> Res<T> {
    r.map_err(|e| e.to_api())
}

pub fn now() -> DateTime<Utc> {
    Utc::now()
}

/// Default number of rows for list and search commands called without `limit`.
pub const DEFAULT_LIMIT: u32 = 50;

/// A list command's account filter and row limit, as the engine takes them.
pub fn list_of(q: &ListQuery) -> (Option<&str>, u32) {
    (
        q.account_id.as_ref().map(AccountId::as_str),
        q.limit.unwrap_or(DEFAULT_LIMIT),
    )
}
