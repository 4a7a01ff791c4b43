//! Any model the command line can run or replay: a built-in one or a scenario.

use crate::scenario::Scenario;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sessions_core::sync::Platform;
use sessions_core::{Kernel, KernelConfig};
use sessions_models::{BuiltinModel, Expect, Model};

/// A built-in model or a scenario. In JSON it is whichever of the two it holds; a value with a
/// `fibrils` field is a scenario.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AnyModel {
    /// A built-in model.
    Builtin(BuiltinModel),
    /// A scenario.
    Scenario(Box<Scenario>),
}

impl Serialize for AnyModel {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            AnyModel::Builtin(m) => m.serialize(s),
            AnyModel::Scenario(m) => m.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for AnyModel {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let value = serde_json::Value::deserialize(d)?;
        if value.get("fibrils").is_some() {
            let s: Scenario = serde_json::from_value(value).map_err(D::Error::custom)?;
            s.validate().map_err(D::Error::custom)?;
            Ok(AnyModel::Scenario(Box::new(s)))
        } else if value.get("model").is_some() {
            serde_json::from_value(value)
                .map(AnyModel::Builtin)
                .map_err(D::Error::custom)
        } else {
            Err(D::Error::custom("the model is neither a built-in model (no `model` field) nor a scenario (no `fibrils` field)"))
        }
    }
}

impl Model for AnyModel {
    fn name(&self) -> String {
        match self {
            AnyModel::Builtin(m) => m.name(),
            AnyModel::Scenario(m) => m.name(),
        }
    }

    fn config(&self) -> KernelConfig {
        match self {
            AnyModel::Builtin(m) => m.config(),
            AnyModel::Scenario(m) => m.config(),
        }
    }

    fn run<P: Platform>(&self, k: &Kernel<P>) {
        match self {
            AnyModel::Builtin(m) => m.run(k),
            AnyModel::Scenario(m) => m.run(k),
        }
    }

    fn expect(&self) -> Expect {
        match self {
            AnyModel::Builtin(m) => m.expect(),
            AnyModel::Scenario(m) => m.expect(),
        }
    }

    fn threads(&self) -> usize {
        match self {
            AnyModel::Builtin(m) => m.threads(),
            AnyModel::Scenario(m) => m.threads(),
        }
    }
}
