## Status lines for the operator (one per request state).

status-queued = Waiting for a { $language } interpreter: number { $position } in the queue. { $oncall ->
    [0] No { $language } interpreter is on call now.
    [one] 1 { $language } interpreter is on call.
   *[other] { $oncall } { $language } interpreters are on call.
}
status-offered = Offered to { $count ->
    [one] 1 { $language } interpreter
   *[other] { $count } { $language } interpreters
}; waiting for an answer.
status-connected = { $interpreter } ({ $language } interpreter) accepted and is { $channel ->
    [chat] in the conversation
   *[phone] on the call
}.
status-completed = { $channel ->
    [chat] Conversation
   *[phone] Call
} with the { $language } interpreter ended.
status-cancelled = Request for a { $language } interpreter cancelled.
status-bridge-lost = The call was lost: the puente instance that held it stopped working. The interpreter is free again. If it is safe, call the caller back.
status-unfilled = Nobody could take the call in { $language }. Offer a call back or refer the caller to an outside agency.

## Script to read to the caller while they wait.

script-waiting = We are looking for someone who speaks { $language }. Please stay on the line: your call matters.

## What the interpreter sees or hears when offered a call.

offer-text = { $priority ->
    [urgent] Urgent call
   *[normal] Call
} in { $language }. Will you take it?

## What the interpreter hears on answering a call from puente (the PBX plays a recording of
## this text: the sound `puente-offer`, see docs/bridges.md).

phone-offer-prompt = Hello, this is puente. Someone needs an interpreter now. Press 1 to take the call, or 2 to decline it.

## What puente writes to people who write on WhatsApp, and how it signs the messages it relays.

chat-received = We received your message. An operator will answer you here.
chat-waiting = We received your message. We are finding someone who speaks { $language } to help you. You can keep writing here.
chat-interpreter-joined = An interpreter for { $language } joined the conversation.
chat-unfilled = We could not find an interpreter for { $language } right now. An operator will write to you here.
chat-from-interpreter = Interpreter
chat-from-operator = Operator

## API error messages.

error-invalid-signature = The X-Hub-Signature-256 signature is missing or does not match the body; nothing was accepted.
error-unauthorized = The token is missing or not valid. Send the header "Authorization: Bearer <token>".
error-forbidden = Your token does not allow this action.
error-not-found = There is no { $what }.
error-route-not-found = There is no such route. See API.md for the list of routes.
error-method-not-allowed = This route does not accept that HTTP method.
error-malformed-json = The body is not valid JSON: { $detail }
error-invalid-body = The JSON body does not have the expected shape: { $detail }
error-unsupported-media-type = Send the body as JSON with "Content-Type: application/json".
error-payload-too-large = The body is too large; the limit is { $limit } bytes.
error-invalid-field = Field "{ $field }" is not valid: { $detail }
error-invalid-query = A query parameter is not valid: { $detail }
error-invalid-limit = "limit" is a whole number from 1 to { $max }, not "{ $given }".
error-invalid-cursor = "cursor" is not one this server gave: use the "next" of a page.
error-invalid-time = "{ $name }" is a date and time in RFC 3339, such as 2026-12-03T09:30:00-06:00, not "{ $given }".
error-unknown-language = Unknown language "{ $query }". Try a name such as "tsotsil", a code such as "tzo", or search with GET /api/v1/languages?q=
error-ambiguous-language = "{ $query }" could be several languages: { $candidates }. Pick one and send its tag.
error-already-exists = { $what } already exists; use another id.
error-offer-closed = This offer is no longer open (it was { $outcome }).
error-not-a-chat = Request { $request } is a phone call, not a chat: it carries no messages.
error-invalid-state = The request is { $state } and does not allow this action.
error-uncertain-text = The language of the text is not certain; it could be: { $candidates }. Confirm with the caller and send "language".
error-no-letters = The text has no letters: paste the caller's message.
error-no-interpreter-needed = The text reads as "{ $tag }": no interpreter is needed. If the caller speaks another language, name it in "language".
error-interpreter-in-session = The interpreter is connected to request { $request }; complete that call first.
error-internal = Internal error. Try again; if it happens again, tell support the id { $request_id }.
error-store-unavailable = The system cannot save or read data right now (the store does not answer). Nothing was recorded: try again in a few seconds; if it goes on, tell support and handle the call by phone meanwhile.
error-stale-profile = Someone else changed this profile while you were editing it. Reload it, check the changes and save again.
error-too-many-streams = This token already has { $limit } live connections open. Close tabs you do not use and try again.
error-too-many-attempts = Too many attempts with an invalid token from this address. Wait a minute and check the token.
error-bad-request = The request cannot be read (the path or a header is not valid, for example bytes that are not UTF-8). Check the address and try again.
error-request-timeout = The request took too long and was cancelled. Try again.
