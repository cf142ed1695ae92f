//! The addresses of a zone's servers: glue, cached address records, or NS names resolved on
//! demand, detecting circular dependencies on the way.
//!
//! Names are resolved lazily: at first only until one address is known; then, when every
//! address known so far failed, the next ones (a zone whose glued server is down while its
//! other NS name lies outside the zone and has no glue). At most
//! `limits.ns_names_per_delegation` names are resolved per zone visit.

use std::net::{IpAddr, SocketAddr};

use hickory_proto::rr::{Name, RData, RecordType};

use super::alias::Chained;
use super::budget::Ctx;
use super::delegation::{Delegation, NsServer};
use super::iterate::{addresses_in, Recursor};
use crate::explain::event::{CycleStep, Event, Limit};
use crate::explain::outcome::{Failure, Outcome};

/// What one visit of a zone has done to find its servers' addresses.
#[derive(Debug, Default)]
pub(super) struct AddressSearch {
    /// NS names already resolved (or found unresolvable, as in-bailiwick names without glue).
    tried: Vec<Name>,
    /// A circular dependency met while resolving one of them.
    cycle: Option<Vec<CycleStep>>,
}

impl Recursor {
    /// Addresses of the zone's servers: glue or cached, else resolved from the NS names
    /// until one is found.
    pub(super) async fn addresses_for(
        &self,
        ctx: &mut Ctx,
        delegation: &Delegation,
        search: &mut AddressSearch,
    ) -> Result<Vec<SocketAddr>, Failure> {
        let servers = self.with_cached_addresses(delegation);
        let known = self.usable_addresses(&Delegation {
            zone: delegation.zone.clone(),
            servers,
        });
        if !known.is_empty() {
            return Ok(known);
        }
        let found = self.more_addresses(ctx, delegation, &[], search).await?;
        if !found.is_empty() {
            return Ok(found);
        }
        Err(match search.cycle.clone() {
            Some(path) => Failure::CircularDependency { path },
            None => Failure::NoServerAddress {
                zone: delegation.zone.to_string(),
                ns: delegation.ns_names(),
            },
        })
    }

    /// Resolves NS names of the zone not tried yet, until an address not in `asked` is
    /// found; returns the new addresses (none when every name has been tried).
    pub(super) async fn more_addresses(
        &self,
        ctx: &mut Ctx,
        delegation: &Delegation,
        asked: &[SocketAddr],
        search: &mut AddressSearch,
    ) -> Result<Vec<SocketAddr>, Failure> {
        let zone = &delegation.zone;
        let glueless: Vec<NsServer> = self
            .with_cached_addresses(delegation)
            .into_iter()
            .filter(|s| s.addresses.is_empty() && !search.tried.contains(&s.name))
            .collect();
        let allowed = ctx.limits.ns_names_per_delegation;
        for server in glueless {
            if search.tried.len() >= allowed {
                ctx.hit(Limit::NsNamesPerDelegation, allowed as u64);
                break;
            }
            search.tried.push(server.name.clone());
            if zone.zone_of(&server.name) {
                // In-bailiwick name without glue: reaching it needs the zone itself.
                ctx.record(Event::GlueMissing {
                    zone: zone.clone(),
                    ns: server.name.clone(),
                });
                continue;
            }
            if let Some(path) = ctx.cycle_through(zone) {
                ctx.record(Event::CycleDetected { path: path.clone() });
                search.cycle = Some(path);
                break;
            }
            let found: Vec<SocketAddr> = self
                .resolve_ns_name(ctx, zone, &server.name, search)
                .await?
                .into_iter()
                .filter(|a| self.usable(a))
                .map(|a| SocketAddr::new(a, self.config.upstream_port))
                .filter(|a| !asked.contains(a))
                .collect();
            if !found.is_empty() {
                return Ok(found);
            }
        }
        Ok(Vec::new())
    }

    /// The delegation's servers, with the addresses the cache holds for those without glue.
    fn with_cached_addresses(&self, delegation: &Delegation) -> Vec<NsServer> {
        let now = self.clock.now();
        let mut servers = delegation.servers.clone();
        for server in servers.iter_mut().filter(|s| s.addresses.is_empty()) {
            for rtype in [RecordType::A, RecordType::AAAA] {
                if let Some(rrset) = self.cache.rrset(&server.name, rtype, now) {
                    server
                        .addresses
                        .extend(addresses_in(&rrset.0, &server.name));
                }
            }
        }
        servers
    }

    /// One NS name resolved as a sub-resolution, within the depth limit.
    async fn resolve_ns_name(
        &self,
        ctx: &mut Ctx,
        zone: &Name,
        ns: &Name,
        search: &mut AddressSearch,
    ) -> Result<Vec<IpAddr>, Failure> {
        if ctx.depth >= ctx.limits.sub_resolution_depth {
            let limit = ctx.hit(
                Limit::SubResolutionDepth,
                ctx.limits.sub_resolution_depth as u64,
            );
            return Err(Failure::LimitReached { limit });
        }
        ctx.record(Event::SubResolutionStarted {
            ns: ns.clone(),
            zone: zone.clone(),
        });
        ctx.resolving.push((zone.clone(), ns.clone()));
        ctx.depth += 1;
        let rtype = if self.config.ipv4 {
            RecordType::A
        } else {
            RecordType::AAAA
        };
        let Chained {
            outcome, answers, ..
        } = self.resolve_chain(ctx, ns.clone(), rtype, false).await;
        ctx.depth -= 1;
        ctx.resolving.pop();
        let found: Vec<IpAddr> = answers
            .iter()
            .filter_map(|r| match &r.data {
                RData::A(a) => Some(IpAddr::V4(a.0)),
                RData::AAAA(a) => Some(IpAddr::V6(a.0)),
                _ => None,
            })
            .collect();
        ctx.record(Event::SubResolutionFinished {
            ns: ns.clone(),
            addresses: found.clone(),
        });
        match outcome {
            Outcome::Failed {
                failure: Failure::CircularDependency { path },
            } => search.cycle = Some(path),
            Outcome::Failed {
                failure: failure @ Failure::LimitReached { .. },
            } => return Err(failure),
            _ => {}
        }
        Ok(found)
    }
}
