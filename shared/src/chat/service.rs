//! Chat: rooms, members, messages, receipts, typing and presence, over HTTP and the WebSocket.
//!
//! Sending is the hot path and is shaped for it: one round of reads (the room's members, the
//! sender's rate window and the attached files, concurrently), then one round of the send
//! transaction together with the members' connections — two sequential DynamoDB round trips
//! before the posts. Every room event goes to every open connection of every active member and
//! nobody else; members none of whose devices got a message are handed to the notifier.

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use futures::{StreamExt, TryStreamExt};
use serde::Serialize;
use tracing::{info, instrument, warn};
use utoipa::ToSchema;

use crate::adapters::Pusher;
use crate::auth::Caller;
use crate::chat::model::{
    AddMembers, Attachment, CreateRoom, EditMessage, Emoji, MAX_MEMBERS, MAX_PINS, MAX_SEQ, Member,
    MemberRole, MembershipPatch, Message, MessageKind, Room, RoomKind, RoomPatch, SendMessage,
    SubjectType, next_owner, validate_name,
};
use crate::chat::store::{
    Append, AppendOutcome, ChatStore, HistoryAnchor, OfflineMessage, RoomClaim,
};
use crate::cursor::{CursorCodec, Position};
use crate::domain::{ConnectionId, FileId, MessageId, Role, RoomId, UserId};
use crate::error::{Error, Result};
use crate::files::model::FileStatus;
use crate::files::store::FileStore;
use crate::me::store::UserStore;
use crate::notifications::store::Notifier;
use crate::realtime::service::{
    self as realtime, Actions, ClientMessage, FANOUT_CONCURRENCY, PresenceStatus, ReceiptKind,
    RoomChange, ServerEvent, TypingState,
};
use crate::realtime::store::ConnectionStore;
use crate::store::{RateDecision, RateLimiter};

/// Messages a user may send per second (over HTTP and WebSocket together).
pub const SENDS_PER_SECOND: u32 = 5;
/// A typing indicator lives this long unless renewed.
pub const TYPING_EXPIRES_SECS: u32 = 6;
/// At most one `typing.start` per user and room in this window; extra ones are dropped.
pub const TYPING_THROTTLE_SECS: i64 = 3;
/// How long a send may keep trying for its room's next sequence number. Concurrent sends to
/// one room contend for it — one wins each round — so a busy room answers some sends 409
/// with `Retry-After` instead of letting them run into the function's timeout: the client
/// retries with the same `clientMessageId`, and nothing is sent twice.
pub const SEND_BUDGET: Duration = Duration::from_millis(2_500);
/// The same outside a Lambda invocation (a tool or test calling the service in-process): no
/// function timeout to answer before, so a caller that cannot retry waits longer.
const IN_PROCESS_BUDGET: Duration = Duration::from_secs(10);
/// Time kept between a send's last attempt and the invocation's end, for delivering the
/// message and answering: a message that committed is never cut off before its answer.
const ANSWER_RESERVE: Duration = Duration::from_secs(3);
/// Time kept between the end of a committed send's posts and the invocation's end, for the
/// answer itself.
const ANSWER_MARGIN: Duration = Duration::from_millis(500);
/// Seconds a send that ran out of its budget asks the client to wait.
const BUSY_RETRY_AFTER_SECS: u64 = 1;
/// Longest pause between attempts after a conflict, before jitter.
const MAX_BACKOFF_MS: u64 = 160;
/// Users whose presence a user's connect or disconnect is announced to, at most.
const PRESENCE_AUDIENCE: usize = 200;

/// Everything chat reads and writes, behind its ports.
#[derive(Clone, Copy)]
pub struct Chat<'a> {
    /// Rooms, members, messages.
    pub store: &'a dyn ChatStore,
    /// Open connections.
    pub connections: &'a dyn ConnectionStore,
    /// Send and typing limits.
    pub limiter: &'a dyn RateLimiter,
    /// Attachments and avatars.
    pub files: &'a dyn FileStore,
    /// Member profiles.
    pub users: &'a dyn UserStore,
    /// Posts to connections.
    pub pusher: &'a dyn Pusher,
    /// Offline recipients.
    pub notifier: &'a dyn Notifier,
}

/// A room with its members (`GET /rooms/{id}`, `POST /rooms`).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RoomDetail {
    /// The room.
    pub room: Room,
    /// Its active members with their read and delivered markers.
    pub members: Vec<MemberPresence>,
}

/// A member and whether they are online.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MemberPresence {
    /// The membership.
    #[serde(flatten)]
    pub member: Member,
    /// At least one open connection.
    pub online: bool,
}

/// One entry of the caller's room list.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RoomSummary {
    /// The room, with its last-message preview.
    pub room: Room,
    /// The caller's membership: unread count, muted, pinned, read marker.
    pub membership: Member,
    /// The other member of a direct room.
    pub peer: Option<Peer>,
}

/// The other member of a direct room.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Peer {
    /// Who.
    pub user_id: UserId,
    /// Their display name.
    pub display_name: Option<String>,
    /// At least one open connection.
    pub online: bool,
    /// When they were last online.
    pub last_seen_at: Option<DateTime<Utc>>,
}

/// A page of the caller's rooms: pinned first (all of them, on the first page), then by last
/// activity.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RoomPage {
    /// The rooms.
    pub items: Vec<RoomSummary>,
    /// Pass as `cursor` for the next page; absent on the last.
    pub next_cursor: Option<String>,
}

/// The badge: unread messages over all rooms that are not muted.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UnreadTotal {
    /// Unread messages.
    pub total: u64,
    /// Rooms with unread messages.
    pub rooms: u32,
}

/// A page of history.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MessagePage {
    /// Newest first, or in sequence order when reading `after`/`afterSeq`.
    pub items: Vec<Message>,
    /// Whether there is more in the same direction.
    pub has_more: bool,
    /// The room's newest sequence number when the page was read: a resuming client that has
    /// every message up to it has caught up.
    pub last_seq: u64,
}

/// Which part of the history a client asks for.
#[derive(Debug, Default)]
pub struct HistoryQuery {
    /// Messages older than this.
    pub before: Option<String>,
    /// Messages that committed after this one (resume after a reconnect).
    pub after: Option<String>,
    /// Messages after this sequence number (resume, or fill a gap).
    pub after_seq: Option<String>,
}

impl<'a> Chat<'a> {
    /// The caller's active membership, or 404: non-members learn nothing, not even that the
    /// room exists.
    async fn membership(&self, room: &RoomId, user: &UserId) -> Result<Member> {
        match self.store.get_member(room, user).await? {
            Some(member) if member.is_active() => Ok(member),
            _ => Err(Error::NotFound("room")),
        }
    }

    /// The active members, checking that `user` is one of them.
    async fn members_for(&self, room: &RoomId, user: &UserId) -> Result<Vec<Member>> {
        let members: Vec<Member> = self
            .store
            .members(room)
            .await?
            .into_iter()
            .filter(Member::is_active)
            .collect();
        if members.iter().any(|m| &m.user_id == user) {
            Ok(members)
        } else {
            Err(Error::NotFound("room"))
        }
    }

    async fn room(&self, id: &RoomId) -> Result<Room> {
        self.store
            .get_room(id)
            .await?
            .ok_or(Error::NotFound("room"))
    }

    /// Sends a room event to every connection of the given members (best effort: the change
    /// it reports is already saved).
    async fn broadcast(&self, members: &[UserId], event: &ServerEvent) -> realtime::FanoutReport {
        match realtime::send_to_users(self.connections, self.pusher, members, event).await {
            Ok(report) => report,
            Err(err) => {
                warn!(error = ?err, "room event not delivered");
                Default::default()
            }
        }
    }

    async fn check_users_exist(&self, users: &[UserId], field: &str) -> Result<()> {
        let users_store = self.users;
        let found: Vec<bool> = futures::stream::iter(users.iter().copied())
            .map(|id| async move { users_store.get_user(&id).await.map(|u| u.is_some()) })
            .buffered(FANOUT_CONCURRENCY)
            .try_collect()
            .await?;
        if found.iter().all(|f| *f) {
            Ok(())
        } else {
            Err(Error::field(field, "no such user"))
        }
    }

    async fn check_avatar(&self, caller: &UserId, file: &FileId) -> Result<()> {
        let ok = self
            .files
            .get_file(file)
            .await?
            .is_some_and(|f| f.is_ready_image_of(caller));
        if ok {
            Ok(())
        } else {
            Err(Error::field(
                "avatarFileId",
                "must be one of your ready profile or portfolio images",
            ))
        }
    }

    async fn detail(&self, room: Room, members: Vec<Member>) -> Result<RoomDetail> {
        let ids: Vec<UserId> = members.iter().map(|m| m.user_id).collect();
        let online = self.online(&ids).await?;
        Ok(RoomDetail {
            members: members
                .into_iter()
                .map(|member| MemberPresence {
                    online: online.contains(&member.user_id),
                    member: member.with_unread(&room),
                })
                .collect(),
            room,
        })
    }

    /// Which of `users` have an open connection.
    async fn online(&self, users: &[UserId]) -> Result<BTreeSet<UserId>> {
        Ok(realtime::connections_of_users(self.connections, users)
            .await?
            .into_iter()
            .map(|(user, _)| user)
            .collect())
    }

    /// `POST /rooms`: creates a group, or gets or creates the direct room of a pair or the
    /// room of a subject. `true` when it was created now.
    #[instrument(skip_all, fields(user_id = %caller.user_id))]
    pub async fn create_room(
        &self,
        caller: &Caller,
        request: CreateRoom,
        now: DateTime<Utc>,
    ) -> Result<(RoomDetail, bool)> {
        let me = caller.user_id;
        let others = request.validate(&me)?;
        let field = match request {
            CreateRoom::Direct { .. } => "userId",
            _ => "memberIds",
        };
        let claim = match &request {
            CreateRoom::Direct { user_id } => Some(RoomClaim::Direct(me, *user_id)),
            CreateRoom::Subject { subject, .. } => Some(RoomClaim::Subject(subject.clone())),
            CreateRoom::Group { .. } => None,
        };
        let subject_room = matches!(request, CreateRoom::Subject { .. });
        let admin = caller.roles.contains(&Role::Admin);
        if let Some(claim) = &claim
            && let Some(existing) = self.existing_room(claim, &me, admin).await?
        {
            return Ok((existing, false));
        }
        // Until the job, booking and lead flows open their rooms for their own parties, only
        // an admin may open one through the API: anyone else could claim a subject's only
        // room and decide who joins.
        if subject_room && !admin {
            return Err(Error::Forbidden(
                "subject rooms are opened by their job, booking or lead".into(),
            ));
        }
        // A booking opens its own room when it is paid, and an application its thread, each
        // in its own transaction: a room claimed before it would make that transaction fail
        // for good.
        if let CreateRoom::Subject { subject, .. } = &request
            && matches!(subject.kind, SubjectType::Booking | SubjectType::Job)
        {
            return Err(Error::Forbidden(
                "a booking's room is opened by its payment, a job's threads by applications".into(),
            ));
        }
        self.check_users_exist(&others, field).await?;
        let (kind, name, avatar, subject) = match request {
            CreateRoom::Direct { .. } => (RoomKind::Direct, None, None, None),
            CreateRoom::Group {
                name,
                avatar_file_id,
                ..
            } => {
                if let Some(file) = &avatar_file_id {
                    self.check_avatar(&me, file).await?;
                }
                (
                    RoomKind::Group,
                    Some(name.trim().to_owned()),
                    avatar_file_id,
                    None,
                )
            }
            CreateRoom::Subject { subject, name, .. } => (
                RoomKind::Subject,
                name.map(|n| n.trim().to_owned()),
                None,
                Some(subject),
            ),
        };
        let room = Room {
            id: RoomId::at(now),
            kind,
            name,
            avatar_file_id: avatar,
            subject,
            created_by: me,
            created_at: now,
            last_message: None,
            last_activity_at: now,
            member_count: others.len() as u32 + 1,
            seq: 0,
            counted: 0,
        };
        let direct = kind == RoomKind::Direct;
        let mut members = vec![Member::new(
            &room,
            me,
            if direct {
                MemberRole::Member
            } else {
                MemberRole::Owner
            },
            direct.then(|| others[0]),
        )];
        members.extend(
            others
                .iter()
                .map(|user| Member::new(&room, *user, MemberRole::Member, direct.then_some(me))),
        );
        if !self
            .store
            .create_room(&room, &members, claim.as_ref())
            .await?
        {
            // Another request created it first: answer with theirs.
            let claim = claim.ok_or_else(|| Error::unexpected(anyhow::anyhow!("lost claim")))?;
            return match self.existing_room(&claim, &me, admin).await? {
                Some(existing) => Ok((existing, false)),
                None => Err(Error::Conflict(
                    "a room for this subject already exists".into(),
                )),
            };
        }
        info!(room_id = %room.id, "room created");
        let ids: Vec<UserId> = members.iter().map(|m| m.user_id).collect();
        self.broadcast(
            &ids,
            &ServerEvent::RoomUpdated {
                room: room.clone(),
                change: RoomChange::Created,
                user_ids: ids.clone(),
            },
        )
        .await;
        Ok((self.detail(room, members).await?, true))
    }

    /// The room holding `claim`, if the caller is in it; a claimed subject room the caller
    /// is not in is a conflict (its members decide who joins).
    async fn existing_room(
        &self,
        claim: &RoomClaim,
        me: &UserId,
        admin: bool,
    ) -> Result<Option<RoomDetail>> {
        let Some(id) = self.store.claimed_room(claim).await? else {
            return Ok(None);
        };
        let (room, members) = futures::try_join!(self.room(&id), self.store.members(&id))?;
        let members: Vec<Member> = members.into_iter().filter(Member::is_active).collect();
        if !members.iter().any(|m| &m.user_id == me) {
            // Only an admin learns that the room exists.
            return Err(if admin {
                Error::Conflict("a room for this subject already exists".into())
            } else {
                Error::Forbidden("subject rooms are opened by their job, booking or lead".into())
            });
        }
        self.detail(room, members).await.map(Some)
    }

    /// `GET /rooms/{id}`.
    pub async fn get_room(&self, caller: &Caller, id: &RoomId) -> Result<RoomDetail> {
        let (members, room) =
            futures::try_join!(self.members_for(id, &caller.user_id), self.room(id))?;
        self.detail(room, members).await
    }

    /// Every active membership of `user` with its room, the unread count worked out.
    ///
    /// Sends no longer move each member's index entry (that cost four write units per member
    /// and message), so lists read the memberships and batch-read their rooms: reads that grow
    /// with the rooms one is in, once per list, instead of writes that grow with the members,
    /// once per message. The badge read every membership before this too.
    async fn my_rooms(&self, user: &UserId) -> Result<Vec<(Room, Member)>> {
        let mut memberships = Vec::new();
        let mut after = None;
        loop {
            let page = self.store.memberships(user, None, after).await?;
            memberships.extend(page.items.into_iter().filter(Member::is_active));
            match page.next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
        let ids: Vec<RoomId> = memberships.iter().map(|m| m.room_id).collect();
        let rooms: HashMap<RoomId, Room> = self
            .store
            .rooms(&ids)
            .await?
            .into_iter()
            .map(|room| (room.id, room))
            .collect();
        Ok(memberships
            .into_iter()
            .filter_map(|m| {
                let room = rooms.get(&m.room_id)?.clone();
                let m = m.with_unread(&room);
                Some((room, m))
            })
            .collect())
    }

    /// `GET /rooms`: pinned rooms first (all of them, on the first page), then by last
    /// activity. The cursor is the last listed room's place in that order.
    pub async fn list_rooms(
        &self,
        cursors: &CursorCodec,
        caller: &Caller,
        limit: u32,
        cursor: Option<&str>,
    ) -> Result<RoomPage> {
        let me = caller.user_id;
        let scope = format!("rooms:{me}");
        let after = cursor
            .map(|c| cursors.decode(&scope, c).and_then(|p| list_place(&p)))
            .transpose()?;
        // The pin markers are read strongly, the index eventually: a pin just set shows.
        let (all, pinned) = futures::try_join!(self.my_rooms(&me), self.store.pinned_rooms(&me))?;
        let mut items: Vec<(Room, Member)> = all
            .into_iter()
            .map(|(room, mut m)| {
                m.pinned = pinned.contains(&m.room_id);
                (room, m)
            })
            .collect();
        let place = |room: &Room| (room.last_activity_at.timestamp_millis(), room.id);
        items.sort_by(|(ra, ma), (rb, mb)| {
            mb.pinned.cmp(&ma.pinned).then(place(rb).cmp(&place(ra)))
        });
        let (pins, rest): (Vec<_>, Vec<_>) = items.into_iter().partition(|(_, m)| m.pinned);
        let mut rest: Vec<(Room, Member)> = rest
            .into_iter()
            .filter(|(room, _)| after.is_none_or(|a| place(room) < a))
            .collect();
        let more = rest.len() > limit as usize;
        rest.truncate(limit as usize);
        let next = if more {
            rest.last().map(|(room, _)| place(room))
        } else {
            None
        };
        let mut items = if after.is_none() { pins } else { Vec::new() };
        items.extend(rest);
        let peers: Vec<UserId> = items.iter().filter_map(|(_, m)| m.peer_id).collect();
        let peer_views = self.peers(&peers).await?;
        Ok(RoomPage {
            items: items
                .into_iter()
                .map(|(room, membership)| RoomSummary {
                    peer: membership
                        .peer_id
                        .and_then(|p| peer_views.iter().find(|v| v.user_id == p))
                        .map(|v| Peer {
                            user_id: v.user_id,
                            display_name: v.display_name.clone(),
                            online: v.online,
                            last_seen_at: v.last_seen_at,
                        }),
                    room,
                    membership,
                })
                .collect(),
            next_cursor: next.map(|(at, room)| {
                let position = Position::from([
                    ("at".to_owned(), at.to_string()),
                    ("room".to_owned(), room.to_string()),
                ]);
                cursors.encode(&scope, &position)
            }),
        })
    }

    async fn peers(&self, users: &[UserId]) -> Result<Vec<Peer>> {
        let online = self.online(users).await?;
        let chat = *self;
        futures::stream::iter(users.iter().copied())
            .map(|user| {
                let online = online.contains(&user);
                async move {
                    let (profile, last_seen) = futures::try_join!(
                        chat.users.get_user(&user),
                        chat.store.last_seen(&user)
                    )?;
                    Ok(Peer {
                        user_id: user,
                        display_name: profile.and_then(|p| p.display_name),
                        online,
                        last_seen_at: last_seen,
                    })
                }
            })
            .buffered(FANOUT_CONCURRENCY)
            .try_collect()
            .await
    }

    /// `GET /me/unread`: the badge over every room that is not muted.
    pub async fn unread_total(&self, caller: &Caller) -> Result<UnreadTotal> {
        let mut total = UnreadTotal { total: 0, rooms: 0 };
        for (_, member) in self.my_rooms(&caller.user_id).await? {
            if !member.muted && member.unread > 0 {
                total.total += u64::from(member.unread);
                total.rooms += 1;
            }
        }
        Ok(total)
    }

    /// The caller's membership, which must be the owner's, of a room that has members to
    /// manage.
    async fn owned(&self, room: &RoomId, caller: &Caller) -> Result<(Room, Vec<Member>)> {
        let (members, room) =
            futures::try_join!(self.members_for(room, &caller.user_id), self.room(room))?;
        if room.kind == RoomKind::Direct {
            return Err(Error::Conflict("a direct room has no owner or name".into()));
        }
        let owner = members
            .iter()
            .any(|m| m.user_id == caller.user_id && m.role == MemberRole::Owner);
        if !owner {
            return Err(Error::Forbidden("only the room's owner may do this".into()));
        }
        Ok((room, members))
    }

    /// `PATCH /rooms/{id}` (owner).
    pub async fn update_room(
        &self,
        caller: &Caller,
        id: &RoomId,
        patch: RoomPatch,
        now: DateTime<Utc>,
    ) -> Result<Room> {
        if let Some(name) = &patch.name {
            validate_name(name)?;
        }
        let (_, members) = self.owned(id, caller).await?;
        if let Some(Some(file)) = &patch.avatar_file_id {
            self.check_avatar(&caller.user_id, file).await?;
        }
        if patch.name.is_none() && patch.avatar_file_id.is_none() {
            return self.room(id).await;
        }
        let name = patch.name.as_deref().map(str::trim);
        let room = self
            .store
            .update_room(id, name, patch.avatar_file_id)
            .await?;
        if let Some(name) = name {
            self.system_message(
                caller,
                &room.id,
                format!("renamed the room to “{name}”"),
                now,
            )
            .await;
        }
        let ids: Vec<UserId> = members.iter().map(|m| m.user_id).collect();
        self.broadcast(
            &ids,
            &ServerEvent::RoomUpdated {
                room: room.clone(),
                change: RoomChange::Updated,
                user_ids: Vec::new(),
            },
        )
        .await;
        Ok(room)
    }

    /// `POST /rooms/{id}/members` (owner).
    pub async fn add_members(
        &self,
        caller: &Caller,
        id: &RoomId,
        request: AddMembers,
        now: DateTime<Utc>,
    ) -> Result<RoomDetail> {
        let (room, members) = self.owned(id, caller).await?;
        let mut new: Vec<UserId> = request
            .user_ids
            .into_iter()
            .filter(|u| !members.iter().any(|m| &m.user_id == u))
            .collect();
        new.sort();
        new.dedup();
        if members.len() + new.len() > MAX_MEMBERS {
            return Err(Error::field(
                "userIds",
                format!("a room has at most {MAX_MEMBERS} members"),
            ));
        }
        if new.is_empty() {
            return self.detail(room, members).await;
        }
        self.check_users_exist(&new, "userIds").await?;
        // Newcomers start reading at the room's newest message; a send committing meanwhile
        // fails the write, which is tried again from the room as it is then.
        let mut current = room.clone();
        let mut retries = Retries::from(Instant::now(), SEND_BUDGET, None);
        let joined = loop {
            let joined: Vec<Member> = new
                .iter()
                .map(|user| Member {
                    joined_at: now,
                    ..Member::new(&current, *user, MemberRole::Member, None)
                })
                .collect();
            let activity = current.last_activity_at.timestamp_millis();
            let started = tokio::time::Instant::now();
            if self.store.add_members(id, &joined, activity).await? {
                break joined;
            }
            retries.took(started.elapsed());
            retries.pause(Pause::Conflict).await?;
            current = self.room(id).await?;
            if current.member_count as usize + new.len() > MAX_MEMBERS {
                return Err(Error::field(
                    "userIds",
                    format!("a room has at most {MAX_MEMBERS} members"),
                ));
            }
        };
        info!(added = joined.len(), "members added");
        self.system_message(caller, id, format!("added {} member(s)", joined.len()), now)
            .await;
        let mut all = members;
        all.extend(joined);
        let ids: Vec<UserId> = all.iter().map(|m| m.user_id).collect();
        self.broadcast(
            &ids,
            &ServerEvent::RoomUpdated {
                room: room.clone(),
                change: RoomChange::MembersAdded,
                user_ids: new,
            },
        )
        .await;
        self.detail(room, all).await
    }

    /// `DELETE /rooms/{id}/members/{userId}`: the owner removes someone, or anyone leaves
    /// (the caller's own id). An owner who leaves hands the room to the earliest member.
    pub async fn remove_member(
        &self,
        caller: &Caller,
        id: &RoomId,
        user: &UserId,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let leaving = user == &caller.user_id;
        let (room, members) = if leaving {
            let (members, room) =
                futures::try_join!(self.members_for(id, &caller.user_id), self.room(id))?;
            if room.kind == RoomKind::Direct {
                return Err(Error::Conflict(
                    "you cannot leave a direct room; mute it".into(),
                ));
            }
            (room, members)
        } else {
            self.owned(id, caller).await?
        };
        if !members.iter().any(|m| &m.user_id == user) {
            return Err(Error::NotFound("member"));
        }
        let heir = next_owner(&members, user).map(|m| m.user_id);
        if !self.store.leave_room(id, user, now, heir.as_ref()).await? {
            return Err(Error::NotFound("member"));
        }
        info!(user_id = %user, "member left");
        let text = if leaving {
            "left the room".to_owned()
        } else {
            "removed a member".to_owned()
        };
        self.system_message(caller, id, text, now).await;
        let ids: Vec<UserId> = members.iter().map(|m| m.user_id).collect();
        self.broadcast(
            &ids,
            &ServerEvent::RoomUpdated {
                room,
                change: RoomChange::MembersRemoved,
                user_ids: vec![*user],
            },
        )
        .await;
        Ok(())
    }

    /// `PATCH /rooms/{id}/membership`: mute or pin for the caller.
    pub async fn update_membership(
        &self,
        caller: &Caller,
        id: &RoomId,
        patch: MembershipPatch,
    ) -> Result<Member> {
        let me = &caller.user_id;
        if patch.pinned == Some(true) {
            let (member, pins) =
                futures::try_join!(self.membership(id, me), self.store.pinned_rooms(me))?;
            if !member.pinned && pins.len() >= MAX_PINS {
                return Err(Error::field(
                    "pinned",
                    format!("at most {MAX_PINS} pinned rooms"),
                ));
            }
        }
        let (member, room) = futures::try_join!(
            self.store.set_membership(id, me, patch.muted, patch.pinned),
            self.room(id)
        )?;
        Ok(member.ok_or(Error::NotFound("room"))?.with_unread(&room))
    }

    /// `POST /rooms/{id}/messages` and the `sendMessage` action. `false` when the client's
    /// id had been used: the first message is returned and nothing is sent again.
    #[instrument(skip_all, fields(room_id = %room, user_id = %caller.user_id))]
    pub async fn send(
        &self,
        caller: &Caller,
        room: &RoomId,
        request: SendMessage,
        now: DateTime<Utc>,
        invocation_end: Option<Instant>,
    ) -> Result<(Message, bool)> {
        let budget = if invocation_end.is_some() {
            SEND_BUDGET
        } else {
            IN_PROCESS_BUDGET
        };
        let retries = Retries::from(Instant::now(), budget, invocation_end);
        let (kind, text) = request.validate()?;
        let me = caller.user_id;
        // Round trip 1: rate window, members, the room's sequence, attached files —
        // concurrently.
        let files = self.files;
        let subject = me.to_string();
        let reads = async {
            futures::try_join!(
                self.limiter
                    .hit("chat-send", &subject, SENDS_PER_SECOND, 1, now),
                self.members_for(room, &me),
                self.room(room),
                futures::stream::iter(request.attachments.iter().copied())
                    .map(|id| async move { files.get_file(&id).await.map(|f| (id, f)) })
                    .buffered(crate::chat::model::MAX_ATTACHMENTS)
                    .try_collect::<Vec<_>>(),
            )
        };
        // Reads that a loaded table stretches past the point where an attempt could still
        // end in time are answered 409 with `Retry-After` (nothing is written yet).
        let (rate, members, current, attachments) = retries.in_time(reads).await??;
        if let RateDecision::Limited { retry_after_secs } = rate {
            return Err(Error::RateLimited { retry_after_secs });
        }
        let attachments = attachments
            .into_iter()
            .map(|(id, file)| match file {
                Some(f) if f.owner_id == me && f.status == FileStatus::Ready => Ok(Attachment {
                    file_id: id,
                    file_name: f.file_name,
                    content_type: f.content_type,
                    size: f.size,
                    removed: false,
                }),
                _ => Err(Error::field(
                    "attachments",
                    "every attachment must be a ready file you uploaded",
                )),
            })
            .collect::<Result<Vec<_>>>()?;
        let message = Message {
            id: MessageId::at(now),
            room_id: *room,
            sender_id: me,
            kind,
            text,
            attachments,
            reply_to: request.reply_to,
            client_message_id: Some(request.client_message_id),
            reactions: Vec::new(),
            created_at: now,
            edited_at: None,
            deleted_at: None,
            // Numbered in `append`, from the room as last read.
            seq: 0,
            counted: 0,
        };
        self.append(message, members, current, &request.attachments, retries)
            .await
    }

    /// Numbers a message after `room` as read, writes it (renumbering and retrying when
    /// another message took the number or members changed meanwhile, until `retries` runs
    /// out) and delivers it. `false` with the first message when the sender's idempotency id
    /// was used before.
    async fn append(
        &self,
        mut message: Message,
        mut members: Vec<Member>,
        mut room: Room,
        files: &[FileId],
        mut retries: Retries,
    ) -> Result<(Message, bool)> {
        let sender = message.sender_id;
        let counts = u64::from(message.counts_as_unread());
        // The members' connections, looked up once beside the first attempt (again only
        // when the members change).
        let mut targets = None;
        loop {
            message.seq = room.seq + 1;
            message.counted = room.counted + counts;
            let ids: Vec<UserId> = members.iter().map(|m| m.user_id).collect();
            let append = Append {
                message: &message,
                member_count: members.len(),
                files,
            };
            // Round trip 2: the transaction, and meanwhile the members' connections.
            let started = tokio::time::Instant::now();
            let lookup = async {
                match targets {
                    None => Some(realtime::connections_of_users(self.connections, &ids).await),
                    Some(_) => None,
                }
            };
            let (outcome, found) = futures::join!(self.store.append_message(&append), lookup);
            retries.took(started.elapsed());
            if found.is_some() {
                targets = found;
            }
            let reread = match outcome? {
                AppendOutcome::Created => {
                    info!(message_id = %message.id, attempts = retries.attempts(), "message sent");
                    let targets = targets.unwrap_or_else(|| Ok(Vec::new()));
                    // Committed: the answer must go out before the invocation ends, so the
                    // posts stop short of it (whoever they miss resumes by `afterSeq`).
                    if retries
                        .in_time_to_answer(self.deliver(&message, &members, targets))
                        .await
                        .is_err()
                    {
                        warn!(message_id = %message.id, "delivery cut short by the deadline");
                    }
                    return Ok((message, true));
                }
                AppendOutcome::Duplicate => {
                    return self.first_of(&message).await.map(|m| (m, false));
                }
                // The failed write told the room's head: renumber from it at once, unless
                // members changed (the list must be read again for them).
                AppendOutcome::Overtaken(Some(head)) if head.member_count == members.len() => {
                    room.seq = head.seq;
                    room.counted = head.counted;
                    retries.pause(Pause::Renumbered).await?;
                    false
                }
                AppendOutcome::Contended => {
                    retries.pause(Pause::Conflict).await?;
                    false
                }
                AppendOutcome::Overtaken(_) | AppendOutcome::RoomChanged => {
                    retries.pause(Pause::Conflict).await?;
                    true
                }
            };
            if reread {
                targets = None;
                let (all, fresh) = futures::try_join!(
                    self.store.members(&message.room_id),
                    self.room(&message.room_id)
                )?;
                room = fresh;
                let active: Vec<Member> = all.into_iter().filter(Member::is_active).collect();
                if message.kind != MessageKind::System
                    && !active.iter().any(|m| m.user_id == sender)
                {
                    return Err(Error::NotFound("room"));
                }
                members = active;
            }
        }
    }

    /// The message a retried send's idempotency id was first used for.
    async fn first_of(&self, retry: &Message) -> Result<Message> {
        let client_id = retry.client_message_id.as_deref().unwrap_or_default();
        let first = self
            .store
            .client_message(&retry.room_id, &retry.sender_id, client_id)
            .await?
            .ok_or_else(|| Error::unexpected(anyhow::anyhow!("claim vanished")))?;
        self.store
            .get_message(&retry.room_id, &first)
            .await?
            .ok_or(Error::NotFound("message"))
    }

    /// Posts `message.new` to every member's connections and hands the members none of whose
    /// devices got it to the notifier (muted rooms and system messages excepted).
    async fn deliver(
        &self,
        message: &Message,
        members: &[Member],
        targets: Result<Vec<(UserId, ConnectionId)>>,
    ) {
        let reached = match async {
            let payload = ServerEvent::MessageNew {
                message: message.clone(),
            }
            .to_bytes()?;
            realtime::fan_out(self.connections, self.pusher, &targets?, &payload).await
        }
        .await
        {
            Ok(report) => report.reached,
            Err(err) => {
                warn!(error = ?err, "message.new not delivered");
                BTreeSet::new()
            }
        };
        if !message.counts_as_unread() {
            return;
        }
        let preview = message.preview().text;
        let due: Vec<OfflineMessage> = members
            .iter()
            .filter(|m| m.user_id != message.sender_id && !m.muted)
            .filter(|m| !reached.contains(&m.user_id))
            .map(|m| OfflineMessage {
                user_id: m.user_id,
                room_id: message.room_id,
                message_id: message.id,
                sender_id: message.sender_id,
                preview: preview.clone(),
                created_at: message.created_at,
            })
            .collect();
        if due.is_empty() {
            return;
        }
        info!(offline = due.len(), "recipients offline");
        if let Err(err) = self.notifier.messages_missed(&due).await {
            warn!(error = ?err, "offline recipients not handed over");
        }
    }

    /// Writes a system message on behalf of `actor` (best effort: the change it reports is
    /// already saved).
    async fn system_message(
        &self,
        actor: &Caller,
        room: &RoomId,
        text: String,
        now: DateTime<Utc>,
    ) {
        let result = async {
            let (members, current) = futures::try_join!(self.store.members(room), self.room(room))?;
            let members: Vec<Member> = members.into_iter().filter(Member::is_active).collect();
            let id = MessageId::at(now);
            let message = Message {
                id,
                room_id: *room,
                sender_id: actor.user_id,
                kind: MessageKind::System,
                text: Some(text),
                attachments: Vec::new(),
                reply_to: None,
                client_message_id: Some(format!("system-{id}")),
                reactions: Vec::new(),
                created_at: now,
                edited_at: None,
                deleted_at: None,
                seq: 0,
                counted: 0,
            };
            let retries = Retries::from(Instant::now(), SEND_BUDGET, None);
            self.append(message, members, current, &[], retries).await
        }
        .await;
        if let Err(err) = result {
            warn!(error = ?err, "system message not written");
        }
    }

    /// `GET /rooms/{id}/messages`: newest first by sequence number; `before=<id>` pages back
    /// from that message's number. `after=<id>` resumes after that message in commit order
    /// (by its sequence number), so a message with an older id that committed later is not
    /// skipped; `afterSeq=<n>` does the same from a number.
    pub async fn history(
        &self,
        caller: &Caller,
        room: &RoomId,
        query: HistoryQuery,
        limit: u32,
    ) -> Result<MessagePage> {
        let anchor = match query.anchor()? {
            Requested::Anchor(anchor) => anchor,
            // A message anchor pages by that message's sequence number: commit order, not
            // id order, so what a client shows, pages and counts is one order.
            Requested::AfterMessage(id) => {
                HistoryAnchor::AfterSeq(self.anchor_seq(room, &id, "after").await?)
            }
            Requested::BeforeMessage(id) => {
                HistoryAnchor::BeforeSeq(self.anchor_seq(room, &id, "before").await?)
            }
        };
        // The room is read (strongly) before the page, so `lastSeq` never runs ahead of
        // what a caught-up page could hold.
        let (_, current) =
            futures::try_join!(self.membership(room, &caller.user_id), self.room(room))?;
        let (mut items, has_more) = self.store.messages(room, anchor, limit).await?;
        self.mark_removed_files(&mut items).await?;
        Ok(MessagePage {
            items,
            has_more,
            last_seq: current.seq,
        })
    }

    /// The sequence number of a history anchor given as a message id.
    async fn anchor_seq(&self, room: &RoomId, id: &MessageId, field: &str) -> Result<u64> {
        let anchor = self
            .store
            .get_message(room, id)
            .await?
            .ok_or_else(|| Error::field(field, "no such message in this room"))?;
        Ok(anchor.seq)
    }

    /// Flags attachments whose file its owner has deleted since.
    async fn mark_removed_files(&self, messages: &mut [Message]) -> Result<()> {
        let mut ids: Vec<FileId> = messages
            .iter()
            .flat_map(|m| m.attachments.iter().map(|a| a.file_id))
            .collect();
        ids.sort();
        ids.dedup();
        let files = self.files;
        let gone: BTreeSet<FileId> = futures::stream::iter(ids)
            .map(|id| async move { files.get_file(&id).await.map(|f| (id, f.is_none())) })
            .buffer_unordered(FANOUT_CONCURRENCY)
            .try_filter_map(|(id, gone)| async move { Ok(gone.then_some(id)) })
            .try_collect()
            .await?;
        for attachment in messages.iter_mut().flat_map(|m| m.attachments.iter_mut()) {
            attachment.removed = gone.contains(&attachment.file_id);
        }
        Ok(())
    }

    /// Why an edit, delete or reaction found nothing to change.
    async fn refused(&self, room: &RoomId, id: &MessageId, me: &UserId) -> Error {
        match self.store.get_message(room, id).await {
            Ok(None) => Error::NotFound("message"),
            Ok(Some(m)) if m.deleted_at.is_some() => {
                Error::Conflict("the message was deleted".into())
            }
            Ok(Some(m)) if m.sender_id != *me || m.kind == MessageKind::System => {
                Error::Forbidden("only the sender may edit or delete a message".into())
            }
            Ok(Some(_)) => Error::Conflict("the message has too many reactions".into()),
            Err(err) => err,
        }
    }

    /// `PATCH /rooms/{id}/messages/{messageId}` (sender).
    pub async fn edit(
        &self,
        caller: &Caller,
        room: &RoomId,
        id: &MessageId,
        request: EditMessage,
        now: DateTime<Utc>,
    ) -> Result<Message> {
        let text = request.validate()?;
        let me = caller.user_id;
        let members = self.members_for(room, &me).await?;
        let Some(message) = self.store.edit_message(room, id, &me, &text, now).await? else {
            return Err(self.refused(room, id, &me).await);
        };
        self.broadcast(
            &user_ids(&members),
            &ServerEvent::MessageUpdated {
                message: message.clone(),
            },
        )
        .await;
        Ok(message)
    }

    /// `DELETE /rooms/{id}/messages/{messageId}` (sender): leaves a tombstone. Deleting a
    /// deleted message answers its tombstone again.
    pub async fn delete(
        &self,
        caller: &Caller,
        room: &RoomId,
        id: &MessageId,
        now: DateTime<Utc>,
    ) -> Result<Message> {
        let me = caller.user_id;
        let members = self.members_for(room, &me).await?;
        let Some(message) = self.store.delete_message(room, id, &me, now).await? else {
            return match self.store.get_message(room, id).await? {
                Some(m) if m.deleted_at.is_some() && m.sender_id == me => Ok(m),
                _ => Err(self.refused(room, id, &me).await),
            };
        };
        self.broadcast(
            &user_ids(&members),
            &ServerEvent::MessageDeleted {
                message: message.clone(),
            },
        )
        .await;
        Ok(message)
    }

    /// `PUT` / `DELETE /rooms/{id}/messages/{messageId}/reactions/{emoji}`: one reaction per
    /// user and emoji; both are idempotent, and only a real change emits `reaction.updated`.
    pub async fn react(
        &self,
        caller: &Caller,
        room: &RoomId,
        id: &MessageId,
        emoji: &Emoji,
        add: bool,
        now: DateTime<Utc>,
    ) -> Result<Message> {
        let me = caller.user_id;
        let members = self.members_for(room, &me).await?;
        let Some(message) = self.store.react(room, id, &me, emoji, add, now).await? else {
            return match self.store.get_message(room, id).await? {
                None => Err(Error::NotFound("message")),
                Some(m) if m.deleted_at.is_some() => {
                    Err(Error::Conflict("the message was deleted".into()))
                }
                // Already as asked: nothing changed, so nobody is told.
                Some(m) if m.has_reaction(&me, emoji.as_str()) == add => Ok(m),
                Some(_) => Err(Error::Conflict("the message has too many reactions".into())),
            };
        };
        self.broadcast(
            &user_ids(&members),
            &ServerEvent::ReactionUpdated {
                room_id: *room,
                message_id: *id,
                reactions: message.reactions.clone(),
            },
        )
        .await;
        Ok(message)
    }

    /// `POST /rooms/{id}/read` and the `markRead` action: moves the caller's read marker
    /// forward to `id`; the unread count becomes the messages from others that committed
    /// after it (by sequence number). A marker already further stays where it is.
    pub async fn mark_read(
        &self,
        caller: &Caller,
        room: &RoomId,
        id: &MessageId,
        now: DateTime<Utc>,
    ) -> Result<Member> {
        let me = caller.user_id;
        let (members, message) = self.marker_target(room, &me, id).await?;
        let moved = self.store.mark_read(room, &me, &message, now).await?;
        // Read after the write: the count is against the room as it is now.
        let (member, current) = futures::try_join!(self.membership(room, &me), self.room(room))?;
        if moved {
            self.receipt(&members, &me, ReceiptKind::Read, &message, now)
                .await;
        }
        Ok(member.with_unread(&current))
    }

    /// The active members of a room the caller belongs to, and the message a read or
    /// delivered marker is to move to.
    async fn marker_target(
        &self,
        room: &RoomId,
        me: &UserId,
        id: &MessageId,
    ) -> Result<(Vec<Member>, Message)> {
        let (members, message) =
            futures::try_join!(self.members_for(room, me), self.store.get_message(room, id))?;
        let message =
            message.ok_or_else(|| Error::field("messageId", "no such message in this room"))?;
        Ok((members, message))
    }

    /// Tells the members that `me`'s marker of `kind` moved to `message`.
    async fn receipt(
        &self,
        members: &[Member],
        me: &UserId,
        kind: ReceiptKind,
        message: &Message,
        now: DateTime<Utc>,
    ) {
        let event = ServerEvent::Receipt {
            room_id: message.room_id,
            user_id: *me,
            kind,
            message_id: message.id,
            seq: message.seq,
            at: now,
        };
        self.broadcast(&user_ids(members), &event).await;
    }

    /// The `markDelivered` action: moves the caller's delivered marker forward.
    pub async fn mark_delivered(
        &self,
        caller: &Caller,
        room: &RoomId,
        id: &MessageId,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let me = caller.user_id;
        let (members, message) = self.marker_target(room, &me, id).await?;
        if self.store.mark_delivered(room, &me, &message).await? {
            self.receipt(&members, &me, ReceiptKind::Delivered, &message, now)
                .await;
        }
        Ok(())
    }

    /// The `typing` action: tells the other members. Starts are throttled per user and room;
    /// an extra start is dropped silently (the indicator is still showing).
    pub async fn typing(
        &self,
        caller: &Caller,
        room: &RoomId,
        state: TypingState,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let me = caller.user_id;
        let members = self.members_for(room, &me).await?;
        let event = match state {
            TypingState::Start => {
                let subject = format!("{me}:{room}");
                let decision = self
                    .limiter
                    .hit("typing", &subject, 1, TYPING_THROTTLE_SECS, now)
                    .await?;
                if decision != RateDecision::Allowed {
                    return Ok(());
                }
                ServerEvent::TypingStart {
                    room_id: *room,
                    user_id: me,
                    expires_in_secs: TYPING_EXPIRES_SECS,
                }
            }
            TypingState::Stop => ServerEvent::TypingStop {
                room_id: *room,
                user_id: me,
            },
        };
        let others: Vec<UserId> = user_ids(&members)
            .into_iter()
            .filter(|u| *u != me)
            .collect();
        self.broadcast(&others, &event).await;
        Ok(())
    }

    /// `$connect`: registers the connection; the user's first open connection makes them
    /// online for the people they share a direct room with.
    pub async fn connected(
        &self,
        connection: ConnectionId,
        caller: &Caller,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let connection_id = connection.clone();
        realtime::connect(self.connections, connection, caller, now).await?;
        let open = self.connections.connections_of(&caller.user_id).await?;
        // The index is eventually consistent: the new connection may not be listed yet.
        if open.iter().all(|c| c == &connection_id) {
            self.announce(&caller.user_id, PresenceStatus::Online, None)
                .await;
        }
        Ok(())
    }

    /// `$disconnect`: forgets the connection; the user's last one makes them offline.
    pub async fn disconnected(&self, connection: &ConnectionId, now: DateTime<Utc>) -> Result<()> {
        let registered = self.connections.get_connection(connection).await?;
        realtime::disconnect(self.connections, connection).await?;
        let Some(registered) = registered else {
            return Ok(());
        };
        let user = registered.user_id;
        // The index may still list the connection just deleted.
        let open = self.connections.connections_of(&user).await?;
        if open.iter().all(|c| c == connection) {
            self.store.set_last_seen(&user, now).await?;
            self.announce(&user, PresenceStatus::Offline, Some(now))
                .await;
        }
        Ok(())
    }

    /// Sends a presence change to the user's direct-room peers (best effort).
    async fn announce(
        &self,
        user: &UserId,
        status: PresenceStatus,
        last_seen: Option<DateTime<Utc>>,
    ) {
        let result = async {
            let mut peers = BTreeSet::new();
            let mut after = None;
            loop {
                let page = self.store.memberships(user, Some(100), after).await?;
                peers.extend(
                    page.items
                        .iter()
                        .filter(|m| m.room_kind == RoomKind::Direct)
                        .filter_map(|m| m.peer_id),
                );
                match page.next {
                    Some(next) if peers.len() < PRESENCE_AUDIENCE => after = Some(next),
                    _ => break,
                }
            }
            let peers: Vec<UserId> = peers.into_iter().take(PRESENCE_AUDIENCE).collect();
            let event = ServerEvent::Presence {
                user_id: *user,
                status,
                last_seen_at: last_seen,
            };
            realtime::send_to_users(self.connections, self.pusher, &peers, &event).await
        }
        .await;
        if let Err(err) = result {
            warn!(error = ?err, "presence not announced");
        }
    }
}

/// A room's place in a room list, from a cursor: its activity and id.
/// Where a history page starts, as the query asks it.
#[derive(Debug, PartialEq)]
enum Requested {
    /// Known without reading anything.
    Anchor(HistoryAnchor),
    /// After this message, once its sequence number is read.
    AfterMessage(MessageId),
    /// Before this message, once its sequence number is read.
    BeforeMessage(MessageId),
}

impl HistoryQuery {
    /// At most one of `before`, `after` and `afterSeq`, each well formed.
    fn anchor(&self) -> Result<Requested> {
        let given = [&self.before, &self.after, &self.after_seq]
            .iter()
            .filter(|q| q.is_some())
            .count();
        if given > 1 {
            return Err(Error::field(
                "after",
                "use one of before, after and afterSeq",
            ));
        }
        Ok(if let Some(before) = &self.before {
            Requested::BeforeMessage(MessageId::parse(before, "before")?)
        } else if let Some(after) = &self.after {
            Requested::AfterMessage(MessageId::parse(after, "after")?)
        } else if let Some(after) = &self.after_seq {
            let seq = after
                .parse::<u64>()
                .ok()
                .filter(|seq| *seq <= MAX_SEQ)
                .ok_or_else(|| Error::field("afterSeq", "must be a sequence number"))?;
            Requested::Anchor(HistoryAnchor::AfterSeq(seq))
        } else {
            Requested::Anchor(HistoryAnchor::Latest)
        })
    }
}

fn list_place(place: &Position) -> Result<(i64, RoomId)> {
    let invalid = || Error::field("cursor", "invalid or expired cursor");
    let at = place
        .get("at")
        .and_then(|a| a.parse().ok())
        .ok_or_else(invalid)?;
    let room = place.get("room").ok_or_else(invalid)?;
    Ok((at, RoomId::parse(room, "cursor")?))
}

/// Why a send waits before its next attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Pause {
    /// It lost the number but knows the next one: try again almost at once (a short jitter
    /// keeps the losers of one round from meeting again in lockstep).
    Renumbered,
    /// A conflicting transaction or a change it must read first: back off.
    Conflict,
}

/// The retries of one write that contends for a room's sequence, bounded by time rather
/// than a count. A new attempt starts only while the budget lasts, and only when one as long
/// as the longest so far still ends before the invocation's end minus the time kept to
/// deliver and answer; no pause runs past either. When time is up the write is answered 409
/// with `Retry-After`. (Tokio's clock: the monotonic clock, which tests can simulate.)
struct Retries {
    budget: tokio::time::Instant,
    hard: Option<tokio::time::Instant>,
    end: Option<tokio::time::Instant>,
    attempts: u32,
    longest: Duration,
}

impl Retries {
    /// Retries of a write starting at `start`, for at most `budget`, in an invocation that
    /// ends at `invocation_end` (when known).
    fn from(start: Instant, budget: Duration, invocation_end: Option<Instant>) -> Self {
        Self {
            budget: (start + budget).into(),
            hard: invocation_end.map(|end| end.checked_sub(ANSWER_RESERVE).unwrap_or(start).into()),
            end: invocation_end.map(|end| end.checked_sub(ANSWER_MARGIN).unwrap_or(start).into()),
            attempts: 0,
            longest: Duration::ZERO,
        }
    }

    /// Runs `work` (the reads before the first attempt) unless the invocation gets too close
    /// to its end for an attempt to follow: then `Busy`.
    async fn in_time<T>(&self, work: impl std::future::Future<Output = T>) -> Result<T> {
        match self.hard {
            Some(hard) => tokio::time::timeout_at(hard, work)
                .await
                .map_err(|_| busy(self.attempts)),
            None => Ok(work.await),
        }
    }

    /// Runs `work` (what follows a commit) until shortly before the invocation ends, so the
    /// answer still goes out; `Err` when it was cut short.
    async fn in_time_to_answer<T>(
        &self,
        work: impl std::future::Future<Output = T>,
    ) -> std::result::Result<T, tokio::time::error::Elapsed> {
        match self.end {
            Some(end) => tokio::time::timeout_at(end, work).await,
            None => Ok(work.await),
        }
    }

    /// Records one attempt that took `elapsed`.
    fn took(&mut self, elapsed: Duration) {
        self.attempts += 1;
        self.longest = self.longest.max(elapsed);
    }

    fn attempts(&self) -> u32 {
        self.attempts
    }

    /// Waits before the next attempt, or answers `Busy` when it may not start.
    async fn pause(&mut self, why: Pause) -> Result<()> {
        let jitter = u64::from(ulid::Ulid::generate().random() as u16);
        let wait = self.plan(why, tokio::time::Instant::now(), jitter)?;
        tokio::time::sleep(wait).await;
        Ok(())
    }

    /// The pause before the next attempt at `now` (`jitter` is a random number), or `Busy`.
    fn plan(&self, why: Pause, now: tokio::time::Instant, jitter: u64) -> Result<Duration> {
        let ceiling_ms = match why {
            Pause::Renumbered => 4 * u64::from(self.attempts.min(5)),
            Pause::Conflict => (10u64 << self.attempts.min(8)).min(MAX_BACKOFF_MS),
        };
        // Full jitter: spread the losers of one round over the whole pause.
        let starts = now + Duration::from_millis(jitter % (ceiling_ms + 1));
        let late =
            starts >= self.budget || self.hard.is_some_and(|hard| starts + self.longest > hard);
        if late {
            return Err(busy(self.attempts));
        }
        Ok(starts - now)
    }
}

/// A send that ran out of time before it could commit: nothing was written.
fn busy(attempts: u32) -> Error {
    warn!(attempts, "room too busy: answered 409");
    Error::Busy {
        message: "the room is too busy right now; retry with the same clientMessageId",
        retry_after_secs: BUSY_RETRY_AFTER_SECS,
    }
}

fn user_ids(members: &[Member]) -> Vec<UserId> {
    members.iter().map(|m| m.user_id).collect()
}

#[async_trait::async_trait]
impl Actions for Chat<'_> {
    async fn act(
        &self,
        caller: &Caller,
        connection: &ConnectionId,
        message: ClientMessage,
        now: DateTime<Utc>,
        deadline: Option<Instant>,
    ) -> Result<()> {
        match message {
            ClientMessage::SendMessage {
                room_id,
                client_message_id,
                text,
                attachments,
                reply_to,
                ..
            } => {
                let request = SendMessage {
                    client_message_id,
                    text,
                    attachments,
                    reply_to,
                };
                let (message, created) =
                    self.send(caller, &room_id, request, now, deadline).await?;
                if !created {
                    // A retried send: this device waits for its message, which everyone
                    // else already has.
                    let payload = ServerEvent::MessageNew { message }.to_bytes()?;
                    self.pusher.post(connection, &payload).await?;
                }
                Ok(())
            }
            ClientMessage::Typing { room_id, state, .. } => {
                self.typing(caller, &room_id, state, now).await
            }
            ClientMessage::MarkRead {
                room_id,
                message_id,
                ..
            } => self
                .mark_read(caller, &room_id, &message_id, now)
                .await
                .map(drop),
            ClientMessage::MarkDelivered {
                room_id,
                message_id,
                ..
            } => {
                self.mark_delivered(caller, &room_id, &message_id, now)
                    .await
            }
            ClientMessage::Ping { .. } => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "01JD0000000000000000000009";

    fn query(before: Option<&str>, after: Option<&str>, after_seq: Option<&str>) -> HistoryQuery {
        HistoryQuery {
            before: before.map(str::to_owned),
            after: after.map(str::to_owned),
            after_seq: after_seq.map(str::to_owned),
        }
    }

    fn field_of(err: Error) -> String {
        match err {
            Error::Validation { field, .. } => field.unwrap_or_default(),
            other => panic!("not a validation error: {other:?}"),
        }
    }

    #[test]
    fn a_history_page_starts_where_exactly_one_anchor_says() {
        let id = MessageId::parse(ID, "id").unwrap();
        assert_eq!(
            query(None, None, None).anchor().unwrap(),
            Requested::Anchor(HistoryAnchor::Latest)
        );
        assert_eq!(
            query(Some(ID), None, None).anchor().unwrap(),
            Requested::BeforeMessage(id)
        );
        assert_eq!(
            query(None, Some(ID), None).anchor().unwrap(),
            Requested::AfterMessage(id)
        );
        assert_eq!(
            query(None, None, Some("41")).anchor().unwrap(),
            Requested::Anchor(HistoryAnchor::AfterSeq(41))
        );
    }

    #[test]
    fn two_anchors_or_a_malformed_one_name_the_field() {
        assert_eq!(
            field_of(query(Some(ID), Some(ID), None).anchor().unwrap_err()),
            "after"
        );
        assert_eq!(
            field_of(query(None, Some(ID), Some("1")).anchor().unwrap_err()),
            "after"
        );
        assert_eq!(
            field_of(query(Some("x"), None, None).anchor().unwrap_err()),
            "before"
        );
        assert_eq!(
            field_of(query(None, Some("x"), None).anchor().unwrap_err()),
            "after"
        );
        let too_big = (MAX_SEQ + 1).to_string();
        for bad in ["-1", "1.5", "", "9223372036854775808", too_big.as_str()] {
            let err = query(None, None, Some(bad)).anchor().unwrap_err();
            assert_eq!(field_of(err), "afterSeq", "{bad}");
        }
        let max = MAX_SEQ.to_string();
        assert!(query(None, None, Some(&max)).anchor().is_ok());
    }

    /// Runs a fake store whose every attempt takes `attempt` and loses the number, on a
    /// simulated clock from `start`; returns the answer, when it came and the attempts made.
    fn always_losing(
        mut retries: Retries,
        start: tokio::time::Instant,
        attempt: Duration,
    ) -> (Error, tokio::time::Instant, u32) {
        let mut now = start;
        let mut jitter = 7u64;
        loop {
            now += attempt;
            retries.took(attempt);
            let why = if retries.attempts().is_multiple_of(3) {
                Pause::Conflict
            } else {
                Pause::Renumbered
            };
            jitter = jitter
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1);
            match retries.plan(why, now, jitter >> 33) {
                Ok(wait) => now += wait,
                Err(err) => return (err, now, retries.attempts()),
            }
        }
    }

    #[test]
    fn a_send_that_always_loses_answers_busy_when_its_budget_is_spent() {
        let start = Instant::now();
        let retries = Retries::from(start, SEND_BUDGET, Some(start + Duration::from_secs(10)));
        let (busy, answered, attempts) =
            always_losing(retries, start.into(), Duration::from_millis(40));
        assert!(
            matches!(
                busy,
                Error::Busy {
                    retry_after_secs: 1,
                    ..
                }
            ),
            "{busy:?}"
        );
        assert_eq!((busy.status(), busy.code()), (409, "conflict"));
        // It used its budget rather than giving up early, and started nothing after it.
        let budget = tokio::time::Instant::from(start + SEND_BUDGET);
        assert!(answered <= budget + Duration::from_millis(40));
        assert!(answered + Duration::from_millis(MAX_BACKOFF_MS) >= budget);
        assert!(attempts > 20, "{attempts} attempts");
    }

    #[test]
    fn a_send_never_starts_an_attempt_that_could_outlive_its_invocation() {
        // Slow attempts (a loaded table) in an invocation with 4 s left: no attempt may end
        // within the 3 s kept for delivering and answering.
        let start = Instant::now();
        let end = start + Duration::from_secs(4);
        let retries = Retries::from(start, SEND_BUDGET, Some(end));
        let (busy, answered, attempts) =
            always_losing(retries, start.into(), Duration::from_millis(300));
        assert!(matches!(busy, Error::Busy { .. }), "{busy:?}");
        assert!(answered <= tokio::time::Instant::from(end - ANSWER_RESERVE));
        assert!((1..=4).contains(&attempts), "{attempts} attempts");
        // Nearly out of time: the first attempt is the only one.
        let mut late = Retries::from(start, SEND_BUDGET, Some(start + Duration::from_millis(500)));
        late.took(Duration::from_millis(10));
        assert!(late.plan(Pause::Renumbered, start.into(), 0).is_err());
    }

    #[test]
    fn a_room_list_cursor_place_is_activity_then_room() {
        let room = RoomId::parse(ID, "id").unwrap();
        let place = Position::from([
            ("at".to_owned(), "1700000000000".to_owned()),
            ("room".to_owned(), ID.to_owned()),
        ]);
        assert_eq!(list_place(&place).unwrap(), (1_700_000_000_000, room));
        assert!(list_place(&Position::default()).is_err());
    }
}
