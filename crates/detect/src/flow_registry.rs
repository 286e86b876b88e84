//! The flow-model registry beside the flow detector it feeds: loads the
//! models the store marks active and shadow into the detector's slot, and
//! changes roles for the API (`ModelControl`), checking a model loads
//! before it takes a role.

use std::sync::{Arc, Mutex};

use rampart_core::{ModelControl, ModelError, ModelInfo, ModelRole, Store};
use rampart_ml::flow_model::FlowModel;

use crate::flow::{LiveModel, ModelSlot};

/// The registry entry as a `ModelInfo`, from a parsed model file.
pub fn info_of(model: &FlowModel, name: &str) -> ModelInfo {
    ModelInfo {
        name: name.to_owned(),
        algo: model.algo.name().to_owned(),
        classes: model.classes.clone(),
        format_version: model.format_version,
        rampart_version: model.rampart_version.clone(),
        data_sha256: model.data_sha256.clone(),
        metrics: model.metrics.clone(),
        created_ms: model.created_ms,
        added_ms: rampart_core::time::now_ms(),
        role: None,
    }
}

pub struct ModelRegistry {
    store: Arc<dyn Store>,
    slot: Arc<ModelSlot>,
    /// What is loaded per role: (name, added_ms), to notice a replaced file.
    loaded: Mutex<[Option<(String, i64)>; 2]>,
}

impl ModelRegistry {
    pub fn new(store: Arc<dyn Store>, slot: Arc<ModelSlot>) -> ModelRegistry {
        ModelRegistry { store, slot, loaded: Mutex::new([None, None]) }
    }

    fn load(&self, name: &str) -> Result<Option<LiveModel>, ModelError> {
        let Some(body) = self.store.model_body(name)? else { return Ok(None) };
        let model = FlowModel::from_json(&body)
            .map_err(|e| ModelError::Unloadable { name: name.to_owned(), reason: e.to_string() })?;
        Ok(Some(LiveModel::new(&model, name)))
    }

    /// Loads whatever the store's roles say and the slot does not hold yet.
    /// A model that fails to load is logged and its role left empty.
    pub fn sync(&self) -> Result<(), ModelError> {
        self.sync_with(None)
    }

    /// `sync`, using `ready` (a model just loaded under that name) instead
    /// of loading it again.
    fn sync_with(&self, ready: Option<(&str, Arc<LiveModel>)>) -> Result<(), ModelError> {
        let models = self.store.models()?;
        let mut loaded = self.loaded.lock().unwrap_or_else(|p| p.into_inner());
        for (i, role) in [ModelRole::Active, ModelRole::Shadow].into_iter().enumerate() {
            let wanted = models.iter().find(|m| m.role == Some(role)).map(|m| (m.name.clone(), m.added_ms));
            if wanted == loaded[i] {
                continue;
            }
            let live = match &wanted {
                None => None,
                Some((name, _)) if ready.as_ref().is_some_and(|(n, _)| n == name) => {
                    ready.as_ref().map(|(_, m)| m.clone())
                }
                Some((name, _)) => match self.load(name) {
                    Ok(model) => model.map(Arc::new),
                    Err(error) => {
                        tracing::error!(model = %name, %error, "Cannot load the {} flow model; none runs in its place.", role.as_str());
                        None
                    }
                },
            };
            if let Some(m) = &live {
                tracing::info!(model = %m.name, classes = ?m.classes, "Flow model loaded as {}.", role.as_str());
            }
            match role {
                ModelRole::Active => self.slot.set_active(live),
                ModelRole::Shadow => self.slot.set_shadow(live),
            }
            loaded[i] = wanted;
        }
        Ok(())
    }
}

impl ModelControl for ModelRegistry {
    fn set_role(&self, name: &str, role: Option<ModelRole>) -> Result<bool, ModelError> {
        // Loaded (and so checked) before the role changes; installed as is.
        let ready = match role {
            Some(_) => match self.load(name)? {
                Some(model) => Some((name, Arc::new(model))),
                None => return Ok(false),
            },
            None => None,
        };
        if !self.store.set_model_role(name, role)? {
            return Ok(false);
        }
        self.sync_with(ready)?;
        Ok(true)
    }

    fn live(&self) -> (Option<String>, Option<String>) {
        self.slot.names()
    }
}
