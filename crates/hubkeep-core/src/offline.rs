//! Offline mode: the hub's database refuses new connections of the app's
//! roles (`CONNECTION LIMIT 0` stops every non-superuser while hubkeep's own
//! superuser sessions still work), existing app sessions are terminated, and
//! the operator's hooks run (e.g. scale the app to zero). The state lives in
//! the catalog, so a run that died is undone by the next hubkeep command.

use crate::catalog::Kind;
use crate::error::{Error, ErrorKind, Result};
use crate::records::{OfflineState, Stack};
use crate::states::StackStatus;
use crate::{now, process_alive, Hubkeep};

impl Hubkeep {
    /// Take the hub offline. `by_pid` marks a temporary offline owned by a
    /// running backup; `None` is the operator's own, kept until `--online`.
    pub fn take_offline(&self, name: &str, redirect_url: Option<String>, by_pid: Option<u32>) -> Result<Stack> {
        let stack = self.stack(name)?;
        if stack.offline.is_some() {
            if by_pid.is_some() {
                return Ok(stack);
            }
            return Err(Error::new(ErrorKind::StackState, format!("stack {name} is already offline; bring it back with `hubkeep stack update {name} --online`")));
        }
        let admin = self.admin_conn(&stack)?;
        if !hubkeep_pg::is_superuser(&admin)? {
            return Err(Error::new(ErrorKind::OfflineUnsupported, format!(
                "offline mode for stack {name} needs a superuser connection (role {} is not one): blocking the app's role would block hubkeep too; adopt the stack with a superuser --database-url, or use operator hooks and take the app down yourself",
                admin.user
            )));
        }
        let db = &stack.outputs.as_ref().expect("a stack with a connection has outputs").app_db;
        let limit = hubkeep_pg::connection_limit(&admin, db)?
            .ok_or_else(|| Error::new(ErrorKind::StackState, format!("the database {db} of stack {name} does not exist")))?;
        let state = OfflineState { since: now(), redirect_url: redirect_url.clone(), previous_connection_limit: limit, by_pid };
        // Record first: whatever happens next, the catalog knows to undo it.
        self.home.catalog.update::<Stack, _>(Kind::Stack, name, |s| {
            s.offline = Some(state.clone());
            s.status = StackStatus::Offline;
            s.updated_at = now();
            Ok(())
        })?;
        let blocked = (|| {
            hubkeep_pg::block_connections(&admin, db)?;
            self.run_hook(&stack, stack.hooks.offline.as_deref(), "offline", redirect_url.as_deref())
        })();
        if let Err(e) = blocked {
            let _ = self.bring_online(name);
            return Err(e.context(format!("taking stack {name} offline (it is back online)")));
        }
        self.job_note(&format!("stack {name} is offline: new connections of its app are refused and open ones were ended"));
        self.stack(name)
    }

    /// Undo offline mode: restore the connection limit, run the online hook.
    pub fn bring_online(&self, name: &str) -> Result<Stack> {
        let stack = self.stack(name)?;
        let Some(state) = stack.offline.clone() else {
            return Ok(stack);
        };
        let admin = self.admin_conn(&stack)?;
        let db = &stack.outputs.as_ref().expect("a stack with a connection has outputs").app_db;
        hubkeep_pg::set_connection_limit(&admin, db, state.previous_connection_limit)?;
        self.run_hook(&stack, stack.hooks.online.as_deref(), "online", None)?;
        let online = self.home.catalog.update::<Stack, _>(Kind::Stack, name, |s| {
            s.offline = None;
            s.status = StackStatus::Online;
            s.status_reason = None;
            s.updated_at = now();
            Ok(())
        })?;
        self.job_note(&format!("stack {name} is back online"));
        Ok(online)
    }

    /// A hub that a dead backup left offline comes back online.
    pub(crate) fn recover_offline_stacks(&self) -> Result<()> {
        for stack in self.stacks()? {
            let Some(pid) = stack.offline.as_ref().and_then(|o| o.by_pid) else { continue };
            if process_alive(pid) {
                continue;
            }
            match self.bring_online(&stack.name) {
                Ok(_) => self.note(&format!("stack {} was left offline by a backup that did not finish (pid {pid}); it is back online", stack.name)),
                Err(e) => self.note(&format!("warning: stack {} was left offline by an unfinished backup and could not be brought online: {e}", stack.name)),
            }
        }
        Ok(())
    }

    fn run_hook(&self, stack: &Stack, hook: Option<&str>, which: &str, redirect: Option<&str>) -> Result<()> {
        let Some(cmd) = hook else { return Ok(()) };
        let status = std::process::Command::new("sh")
            .arg("-c")
            .arg(cmd)
            .env("HUBKEEP_STACK", &stack.name)
            .env("HUBKEEP_REDIRECT_URL", redirect.unwrap_or(""))
            .env("HUBKEEP_MODE", which)
            .stdout(std::process::Stdio::null())
            .status()
            .map_err(|e| Error::new(ErrorKind::HookFailed, format!("the {which} hook of stack {} could not run: {e}", stack.name)))?;
        if !status.success() {
            return Err(Error::new(ErrorKind::HookFailed, format!("the {which} hook of stack {} failed ({status}); fix it with `hubkeep stack update {} --{which}-hook CMD`", stack.name, stack.name)));
        }
        Ok(())
    }
}
