//! Rooms shared by any number of `rtccall serve` instances through Redis (`serve --redis`):
//! membership in one hash per room (changed only by Lua scripts, so two instances never both
//! take the last seat), messages to a peer on another instance over that instance's pub/sub
//! channel, and a heartbeat key per instance: when an instance dies, the others release the
//! seats it held within a few seconds and tell the peers left behind.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures_util::StreamExt;
use redis::AsyncCommands;
use redis::aio::ConnectionManager;
use serde::{Deserialize, Serialize};
use tokio_tungstenite::tungstenite::Utf8Bytes;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use super::outbox::Outbox;
use super::rooms::{JoinRequest, RESUME_GRACE, Relayed, new_token};
use crate::exit::Error;
use crate::signal::protocol::{Message, code};

/// How often an instance renews its heartbeat and checks the peers of its rooms.
const BEAT: Duration = Duration::from_secs(1);
/// An instance whose heartbeat is this old is dead.
const HEARTBEAT_TTL: Duration = Duration::from_secs(3);
/// Rooms nobody touches for this long are dropped by Redis itself.
const ROOM_TTL_MS: u64 = 24 * 3600 * 1000;
/// Longest wait for a Redis answer.
const REDIS_TIMEOUT: Duration = Duration::from_secs(2);

/// `--redis URL` and `--redis-prefix NAME`.
#[derive(Debug, Clone)]
pub struct RedisConfig {
    pub url: String,
    /// Namespaces every key and channel, so deployments can share one Redis.
    pub prefix: String,
}

/// A Redis URL without its password, for messages.
pub fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) => {
            if u.password().is_some() {
                let _ = u.set_password(Some("***"));
            }
            u.to_string()
        }
        Err(_) => "(not a URL)".into(),
    }
}

/// A member of a room, as stored in its hash.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Stored {
    #[serde(default)]
    role: String,
    token: String,
    #[serde(default)]
    leaving: bool,
}

/// What one instance publishes to another.
#[derive(Debug, Serialize, Deserialize)]
struct Envelope {
    /// Connection id on the receiving instance.
    to: u64,
    /// A frame to pass on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    text: Option<String>,
    /// Close that connection (it was replaced by a resumed one elsewhere).
    #[serde(default)]
    close: bool,
    /// Who sent `text` (instance, connection), to be told when the receiver does not read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    from: Option<(String, u64)>,
}

/// A connection of this instance that is in a room.
struct Local {
    room: String,
    outbox: Outbox,
    stored: Stored,
    /// While its join is under way: messages other instances sent it meanwhile (a peer that
    /// joined right after it, through another instance), delivered after its `joined`.
    pending: Option<Vec<String>>,
}

struct Inner {
    cfg: RedisConfig,
    client: redis::Client,
    con: ConnectionManager,
    /// This instance's id.
    instance: String,
    locals: Mutex<HashMap<u64, Local>>,
    join: redis::Script,
    leave: redis::Script,
    mark: redis::Script,
}

/// Rooms in Redis, as one instance sees them.
#[derive(Clone)]
pub struct RedisRooms {
    inner: Arc<Inner>,
}

const JOIN_LUA: &str = r#"
-- KEYS[1] room hash. ARGV: now_ms, my field, my stored json, resume token, ttl_ms,
-- instance key prefix, seat hold ms.
local room, now = KEYS[1], tonumber(ARGV[1])
local all = redis.call('HGETALL', room)
local members, reserved = {}, {}
for i = 1, #all, 2 do
  local f, v = all[i], all[i + 1]
  if string.sub(f, 1, 2) == 'r:' then
    if tonumber(v) <= now then redis.call('HDEL', room, f) else reserved[string.sub(f, 3)] = true end
  end
end
for i = 1, #all, 2 do
  local f, v = all[i], all[i + 1]
  if string.sub(f, 1, 2) == 'm:' then
    local m = cjson.decode(v)
    local inst = string.match(f, '^m:([^:]+):')
    if inst and redis.call('EXISTS', ARGV[6] .. inst) == 0 then
      -- Its instance died (no heartbeat): the member is gone, as a dropped connection is on
      -- one instance: its seat is held for the grace time unless it had said bye.
      redis.call('HDEL', room, f)
      if not m.leaving then
        local until_ms = now + tonumber(ARGV[7])
        redis.call('HSET', room, 'r:' .. m.token, until_ms)
        reserved[m.token] = true
      end
    else
      members[#members + 1] = {f, m}
    end
  end
end
local me = cjson.decode(ARGV[3])
local resume, replaced = ARGV[4], ''
if resume ~= '' then
  if reserved[resume] then
    redis.call('HDEL', room, 'r:' .. resume)
    reserved[resume] = nil
    me.token = resume
  else
    for i, m in ipairs(members) do
      if m[2].token == resume then
        redis.call('HDEL', room, m[1])
        replaced = m[1]
        table.remove(members, i)
        me.token = resume
        break
      end
    end
  end
end
local seats = #members
for _ in pairs(reserved) do seats = seats + 1 end
if seats >= 2 then return {'full'} end
local peer, peer_role = '', ''
if #members > 0 then peer, peer_role = members[1][1], members[1][2].role or '' end
redis.call('HSET', room, ARGV[2], cjson.encode(me))
redis.call('PEXPIRE', room, tonumber(ARGV[5]))
return {'ok', me.token, peer, peer_role, replaced}
"#;

const LEAVE_LUA: &str = r#"
-- KEYS[1] room hash. ARGV: field, reservation expiry ms. Returns 1 when the field was there.
local v = redis.call('HGET', KEYS[1], ARGV[1])
if not v then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1])
local m = cjson.decode(v)
if not m.leaving then redis.call('HSET', KEYS[1], 'r:' .. m.token, ARGV[2]) end
return 1
"#;

const MARK_LUA: &str = r#"
-- KEYS[1] room hash. ARGV[1]: the member to mark leaving, or '' for every member (the call
-- is over for both).
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  local f, v = all[i], all[i + 1]
  if string.sub(f, 1, 2) == 'm:' and (ARGV[1] == '' or ARGV[1] == f) then
    local m = cjson.decode(v)
    m.leaving = true
    redis.call('HSET', KEYS[1], f, cjson.encode(m))
  end
end
return 0
"#;

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

impl RedisRooms {
    /// Connect (and fail now, in one line, when Redis cannot be reached).
    pub async fn connect(cfg: RedisConfig) -> Result<RedisRooms, Error> {
        let shown = redact(&cfg.url);
        let client = redis::Client::open(cfg.url.as_str())
            .map_err(|e| Error::usage(format!("--redis {shown}: {e}")))?;
        let mc = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(REDIS_TIMEOUT))
            .set_response_timeout(Some(REDIS_TIMEOUT))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_secs(1));
        let con = tokio::time::timeout(
            REDIS_TIMEOUT * 2,
            ConnectionManager::new_with_config(client.clone(), mc),
        )
        .await
        .map_err(|_| Error::signaling(format!("cannot reach Redis at {shown}: no answer")))?
        .map_err(|e| Error::signaling(format!("cannot reach Redis at {shown}: {e}")))?;
        let instance = new_token()[..16].to_string();
        info!("instance {instance} sharing rooms through Redis at {shown}");
        Ok(RedisRooms {
            inner: Arc::new(Inner {
                cfg,
                client,
                con,
                instance,
                locals: Mutex::new(HashMap::new()),
                join: redis::Script::new(JOIN_LUA),
                leave: redis::Script::new(LEAVE_LUA),
                mark: redis::Script::new(MARK_LUA),
            }),
        })
    }

    fn room_key(&self, room: &str) -> String {
        format!("{}:room:{room}", self.inner.cfg.prefix)
    }

    fn instance_key(&self, instance: &str) -> String {
        format!("{}:instance:{instance}", self.inner.cfg.prefix)
    }

    fn channel(&self, instance: &str) -> String {
        format!("{}:to:{instance}", self.inner.cfg.prefix)
    }

    fn field(&self, id: u64) -> String {
        format!("m:{}:{id}", self.inner.instance)
    }

    fn con(&self) -> ConnectionManager {
        self.inner.con.clone()
    }

    fn locals(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Local>> {
        self.inner.locals.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Rooms this instance has a member in.
    pub fn local_rooms(&self) -> usize {
        let l = self.locals();
        let mut rooms: Vec<&str> = l.values().map(|m| m.room.as_str()).collect();
        rooms.sort_unstable();
        rooms.dedup();
        rooms.len()
    }

    /// Start the heartbeat, the watch over other instances and the pub/sub listener.
    pub fn start(&self, stop: CancellationToken) {
        let this = self.clone();
        let s = stop.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(BEAT);
            loop {
                tokio::select! {
                    _ = s.cancelled() => break,
                    _ = tick.tick() => {}
                }
                this.beat().await;
                this.sweep().await;
            }
            // Leave at once rather than when the heartbeat runs out.
            let mut con = this.con();
            let key = this.instance_key(&this.inner.instance);
            let _: Result<(), _> = con.del(key).await;
        });
        let this = self.clone();
        tokio::spawn(async move { this.listen(stop).await });
    }

    async fn beat(&self) {
        let mut con = self.con();
        let key = self.instance_key(&self.inner.instance);
        let r: redis::RedisResult<()> = redis::cmd("SET")
            .arg(&key)
            .arg(1)
            .arg("PX")
            .arg(HEARTBEAT_TTL.as_millis() as u64)
            .query_async(&mut con)
            .await;
        if let Err(e) = r {
            warn!("Redis heartbeat failed: {e}");
        }
    }

    /// Release the seats of dead instances in the rooms this instance has members in, and
    /// tell those members.
    async fn sweep(&self) {
        let rooms: Vec<String> = {
            let mut r: Vec<String> = self.locals().values().map(|m| m.room.clone()).collect();
            r.sort_unstable();
            r.dedup();
            r
        };
        let mut con = self.con();
        for room in rooms {
            let key = self.room_key(&room);
            let Ok(fields) = con.hkeys::<_, Vec<String>>(&key).await else {
                return;
            };
            for f in fields {
                let Some((inst, _)) = parse_field(&f) else {
                    continue;
                };
                if inst == self.inner.instance {
                    continue;
                }
                let alive: bool = con.exists(self.instance_key(inst)).await.unwrap_or(true);
                if alive {
                    continue;
                }
                let removed: i64 = self
                    .inner
                    .leave
                    .key(&key)
                    .arg(&f)
                    .arg(now_ms() + RESUME_GRACE.as_millis() as u64)
                    .invoke_async(&mut con)
                    .await
                    .unwrap_or(0);
                if removed == 1 {
                    info!("room {room}: the instance holding {f} is gone; its peer is released");
                    self.tell_room_local(&room, &Message::PeerLeft {});
                }
            }
        }
    }

    /// Receive what other instances send to this one's connections; reconnects (and puts
    /// this instance's members back into Redis, which may have restarted empty).
    async fn listen(&self, stop: CancellationToken) {
        let chan = self.channel(&self.inner.instance);
        let mut attempt = 0u32;
        while !stop.is_cancelled() {
            let sub = async {
                let mut ps = self.inner.client.get_async_pubsub().await?;
                ps.subscribe(&chan).await?;
                Ok::<_, redis::RedisError>(ps)
            };
            let mut ps = match tokio::time::timeout(REDIS_TIMEOUT, sub).await {
                Ok(Ok(ps)) => ps,
                Ok(Err(e)) => {
                    warn!("Redis subscription failed: {e}");
                    attempt += 1;
                    tokio::time::sleep(Duration::from_millis(200 * u64::from(attempt.min(5))))
                        .await;
                    continue;
                }
                Err(_) => {
                    attempt += 1;
                    continue;
                }
            };
            if attempt > 0 {
                info!("Redis is back; putting this instance's members back");
                self.beat().await;
                self.reassert().await;
            }
            attempt = 1;
            let mut stream = ps.on_message();
            loop {
                tokio::select! {
                    _ = stop.cancelled() => return,
                    m = stream.next() => match m {
                        Some(m) => {
                            let Ok(payload) = m.get_payload::<String>() else { continue };
                            match serde_json::from_str::<Envelope>(&payload) {
                                Ok(env) => self.deliver(env).await,
                                Err(e) => debug!("ignoring a Redis message: {e}"),
                            }
                        }
                        None => {
                            warn!("Redis subscription lost; reconnecting");
                            break;
                        }
                    }
                }
            }
        }
    }

    /// After Redis lost its data: this instance's members and their seats, as they were.
    async fn reassert(&self) {
        let members: Vec<(String, String, String)> = self
            .locals()
            .iter()
            .map(|(id, l)| {
                (
                    self.room_key(&l.room),
                    self.field(*id),
                    serde_json::to_string(&l.stored).unwrap_or_default(),
                )
            })
            .collect();
        let mut con = self.con();
        for (key, field, value) in members {
            let _: Result<(), _> = con.hset(&key, &field, &value).await;
            let _: Result<(), _> = con.pexpire(&key, ROOM_TTL_MS as i64).await;
        }
    }

    async fn deliver(&self, env: Envelope) {
        if let (Some(text), false) = (&env.text, env.close)
            && let Some(held) = self
                .locals()
                .get_mut(&env.to)
                .and_then(|l| l.pending.as_mut())
        {
            held.push(text.clone());
            return;
        }
        let outbox = self.locals().get(&env.to).map(|l| l.outbox.clone());
        let Some(outbox) = outbox else {
            return;
        };
        if env.close {
            outbox.close(1000, "replaced by a resumed connection");
            return;
        }
        if let Some(text) = env.text {
            if outbox.push(text.into()).is_err() {
                if let Some((inst, id)) = env.from {
                    let e = Message::error(
                        code::PEER_STALLED,
                        "the other peer is not reading its messages and is being \
                         disconnected; a message was not delivered",
                    );
                    self.send_to(&inst, id, Some(e.to_text()), false, None)
                        .await;
                }
            }
        }
    }

    /// Send to connection `id` of `instance` (this one included).
    async fn send_to(
        &self,
        instance: &str,
        id: u64,
        text: Option<String>,
        close: bool,
        from: Option<u64>,
    ) -> Relayed {
        if instance == self.inner.instance {
            let outbox = self.locals().get(&id).map(|l| l.outbox.clone());
            let Some(outbox) = outbox else {
                return Relayed::NoPeer;
            };
            if close {
                outbox.close(1000, "replaced by a resumed connection");
                return Relayed::Sent;
            }
            return match text.map(|t| outbox.push(t.into())) {
                Some(Err(_)) => Relayed::Stalled,
                _ => Relayed::Sent,
            };
        }
        let env = Envelope {
            to: id,
            text,
            close,
            from: from.map(|f| (self.inner.instance.clone(), f)),
        };
        let payload = serde_json::to_string(&env).unwrap_or_default();
        let mut con = self.con();
        match con
            .publish::<_, _, i64>(self.channel(instance), payload)
            .await
        {
            Ok(0) => Relayed::NoPeer,
            Ok(_) => Relayed::Sent,
            Err(e) => {
                warn!("Redis publish failed: {e}");
                Relayed::Unavailable
            }
        }
    }

    fn tell_room_local(&self, room: &str, msg: &Message) {
        for l in self.locals().values().filter(|l| l.room == room) {
            l.outbox.send(msg);
        }
    }

    fn unavailable(req: &JoinRequest<'_>, e: &dyn std::fmt::Display) -> &'static str {
        warn!("Redis: {e}");
        req.outbox.send(&Message::error(
            code::UNAVAILABLE,
            "the signaling server cannot reach its room store (Redis) just now; try again",
        ));
        code::UNAVAILABLE
    }

    /// See [`super::hub::Hub::join`].
    pub async fn join(&self, req: JoinRequest<'_>) -> Result<(), &'static str> {
        let stored = Stored {
            role: req.role.clone().unwrap_or_default(),
            token: new_token(),
            leaving: false,
        };
        let key = self.room_key(req.room);
        let field = self.field(req.id);
        // Known here before Redis has it: a peer joining through another instance right after
        // may tell it so before this join's answer is read.
        self.locals().insert(
            req.id,
            Local {
                room: req.room.to_string(),
                outbox: req.outbox.clone(),
                stored: stored.clone(),
                pending: Some(Vec::new()),
            },
        );
        let mut con = self.con();
        let r: redis::RedisResult<Vec<String>> = self
            .inner
            .join
            .key(&key)
            .arg(now_ms())
            .arg(&field)
            .arg(serde_json::to_string(&stored).unwrap_or_default())
            .arg(req.resume.clone().unwrap_or_default())
            .arg(ROOM_TTL_MS)
            .arg(self.instance_key(""))
            .arg(RESUME_GRACE.as_millis() as u64)
            .invoke_async(&mut con)
            .await;
        let r = match r {
            Ok(r) => r,
            Err(e) => {
                self.locals().remove(&req.id);
                return Err(Self::unavailable(&req, &e));
            }
        };
        if r.first().map(String::as_str) != Some("ok") || r.len() < 5 {
            self.locals().remove(&req.id);
            req.outbox.send(&Message::error(
                code::ROOM_FULL,
                format!("room {:?} already has two peers", req.room),
            ));
            return Err(code::ROOM_FULL);
        }
        let (token, peer, peer_role, replaced) = (&r[1], &r[2], &r[3], &r[4]);
        if let Some((inst, id)) = parse_field(replaced) {
            let _ = self.send_to(inst, id, None, true, None).await;
            if inst == self.inner.instance {
                self.locals().remove(&id);
            }
        }
        if let Some(l) = self.locals().get_mut(&req.id) {
            l.stored.token = token.clone();
        }
        let peer_shown = (!peer.is_empty()).then(|| {
            if peer_role.is_empty() {
                "unknown".to_string()
            } else {
                peer_role.clone()
            }
        });
        req.outbox.send(&Message::Joined {
            room: req.room.to_string(),
            peer: peer_shown,
            resume: Some(crate::signal::protocol::Token(token.clone())),
            ice_servers: req.ice_servers,
        });
        let held = self
            .locals()
            .get_mut(&req.id)
            .and_then(|l| l.pending.take())
            .unwrap_or_default();
        for text in held {
            let _ = req.outbox.push(text.into());
        }
        if let Some((inst, id)) = parse_field(peer) {
            let text = Message::PeerJoined {
                role: req.role.clone(),
            }
            .to_text();
            let _ = self.send_to(inst, id, Some(text), false, None).await;
        }
        info!("room {}: client {} joined through Redis", req.room, req.id);
        Ok(())
    }

    /// See [`super::hub::Hub::mark_leaving`].
    pub async fn mark_leaving(&self, room: &str, id: u64) {
        if let Some(l) = self.locals().get_mut(&id) {
            l.stored.leaving = true;
        }
        self.mark(room, self.field(id)).await;
    }

    /// See [`super::hub::Hub::call_over`].
    pub async fn call_over(&self, room: &str) {
        for l in self.locals().values_mut().filter(|l| l.room == room) {
            l.stored.leaving = true;
        }
        self.mark(room, String::new()).await;
    }

    /// Mark `field` (every member when empty) leaving in Redis.
    async fn mark(&self, room: &str, field: String) {
        let mut con = self.con();
        let r: redis::RedisResult<i64> = self
            .inner
            .mark
            .key(self.room_key(room))
            .arg(field)
            .invoke_async(&mut con)
            .await;
        if let Err(e) = r {
            warn!("Redis: {e}");
        }
    }

    /// The other members of `room` (instance, connection).
    async fn others(&self, room: &str, id: u64) -> redis::RedisResult<Vec<(String, u64)>> {
        let mut con = self.con();
        let fields: Vec<String> = con.hkeys(self.room_key(room)).await?;
        let me = self.field(id);
        Ok(fields
            .iter()
            .filter(|f| **f != me)
            .filter_map(|f| parse_field(f).map(|(i, c)| (i.to_string(), c)))
            .collect())
    }

    /// See [`super::hub::Hub::relay`].
    pub async fn relay(&self, room: &str, from: u64, text: Utf8Bytes) -> Relayed {
        let others = match self.others(room, from).await {
            Ok(o) => o,
            Err(e) => {
                warn!("Redis: {e}");
                return Relayed::Unavailable;
            }
        };
        let mut out = Relayed::NoPeer;
        for (inst, id) in others {
            out = self
                .send_to(
                    &inst,
                    id,
                    Some(text.as_str().to_string()),
                    false,
                    Some(from),
                )
                .await;
        }
        out
    }

    /// See [`super::hub::Hub::store_session`].
    pub async fn store_session(&self, resource: &str, record: &str) {
        let mut con = self.con();
        let key = format!("{}:whip:{resource}", self.inner.cfg.prefix);
        let r: redis::RedisResult<()> = con.set_ex(key, record, 86_400).await;
        if let Err(e) = r {
            warn!("Redis: {e}");
        }
    }

    /// See [`super::hub::Hub::find_session`].
    pub async fn find_session(&self, resource: &str) -> Option<String> {
        let mut con = self.con();
        let key = format!("{}:whip:{resource}", self.inner.cfg.prefix);
        con.get(key).await.unwrap_or_else(|e| {
            warn!("Redis: {e}");
            None
        })
    }

    /// See [`super::hub::Hub::drop_session`].
    pub async fn drop_session(&self, resource: &str) {
        let mut con = self.con();
        let key = format!("{}:whip:{resource}", self.inner.cfg.prefix);
        let r: redis::RedisResult<()> = con.del(key).await;
        if let Err(e) = r {
            warn!("Redis: {e}");
        }
    }

    /// See [`super::hub::Hub::leave`].
    pub async fn leave(&self, room: &str, id: u64) {
        if self.locals().remove(&id).is_none() {
            // Replaced by a resumed connection: no longer a member.
            return;
        }
        let mut con = self.con();
        let removed: redis::RedisResult<i64> = self
            .inner
            .leave
            .key(self.room_key(room))
            .arg(self.field(id))
            .arg(now_ms() + RESUME_GRACE.as_millis() as u64)
            .invoke_async(&mut con)
            .await;
        match removed {
            Ok(1) => {
                let left = Message::PeerLeft {}.to_text();
                if let Ok(others) = self.others(room, id).await {
                    for (inst, other) in others {
                        let _ = self
                            .send_to(&inst, other, Some(left.clone()), false, None)
                            .await;
                    }
                }
            }
            Ok(_) => {}
            Err(e) => warn!("Redis: {e}"),
        }
    }
}

/// `m:INSTANCE:ID` → (INSTANCE, ID).
fn parse_field(f: &str) -> Option<(&str, u64)> {
    let rest = f.strip_prefix("m:")?;
    let (inst, id) = rest.split_once(':')?;
    Some((inst, id.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_and_redaction() {
        assert_eq!(parse_field("m:abc:12"), Some(("abc", 12)));
        assert_eq!(parse_field("r:tok"), None);
        assert_eq!(
            redact("redis://:pw@127.0.0.1:6379/0"),
            "redis://:***@127.0.0.1:6379/0"
        );
        assert_eq!(redact("redis://127.0.0.1:6379"), "redis://127.0.0.1:6379");
    }
}
