//! [`records_revision`]: the newest `mod_revision` among the Marathon and Mesos records
//! (tombstones included), to prove that nothing was written. etcd's own revision also moves
//! with keys outside the record trees (the subscriber's status record, election keys).

use etcd_client::{GetOptions, SortOrder, SortTarget};

use crate::Registry;
use crate::keys::Scope;
use crate::mesos::MesosScope;

/// The newest `mod_revision` of any key of the record trees (0 when they are empty).
pub async fn records_revision(registry: &Registry) -> crate::Result<i64> {
    let layout = registry.layout();
    let prefixes = [
        layout.scope_prefix(&Scope::All),
        layout.mesos_scope_prefix(&MesosScope::All)?,
    ];
    let mut newest = 0;
    for prefix in prefixes {
        let options = GetOptions::new()
            .with_prefix()
            .with_keys_only()
            .with_sort(SortTarget::Mod, SortOrder::Descend)
            .with_limit(1);
        let response = registry
            .client()
            .get(prefix, Some(options))
            .await
            .map_err(crate::Error::from)?;
        if let Some(kv) = response.kvs().first() {
            newest = newest.max(kv.mod_revision());
        }
    }
    Ok(newest)
}
