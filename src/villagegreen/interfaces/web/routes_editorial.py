"""Routes for the editor's desk (stories: draft, edit, versions, approve) and memory search.

Registered by :func:`villagegreen.interfaces.web.routes.register_routes`. Pages:

- ``/stories``: stories by state; ``/stories/{id}``: the current version, its versions and the
  next editorial steps; ``/stories/{id}/edit``: a Markdown editor with a live preview (htmx
  posts the text to ``/stories/{id}/preview``, which answers sanitised HTML and whether the edit
  would be accepted); ``/conversations/{id}/story``: a conversation's stories and a button to
  draft one; ``/search?q=``: the community's memory. Each has a ``.json`` twin.
- State changes (``POST``: draft, edit, review/approve) need the CSRF token, as every POST here.

Pages are cached per store state like every other page: a change made here moves the store
gate's write count (store_access.py), so the next page shows it at once; uncached, each view
opened the store (a fifth of a second of CPU at a million messages).
"""

from __future__ import annotations

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse, RedirectResponse

from villagegreen.errors import InputError
from villagegreen.interfaces.web.app import acting_user, clean, dashboard, render, wants_json
from villagegreen.interfaces.web.figures import NotFound
from villagegreen.interfaces.web.forms import csrf_ok, csrf_refused, read_form
from villagegreen.interfaces.web.page_routes import add_page, cached_as, cached_by_path, read_now
from villagegreen.interfaces.web.pages_search import MAX_QUERY_CHARS, parse_k, search_data
from villagegreen.interfaces.web.pages_stories import (
    MAX_MARKDOWN_CHARS,
    conversation_story_data,
    edit_data,
    preview_data,
    public_record,
    stories_data,
    story_data,
)

# A story's Markdown, percent-encoded (up to 3 bytes per character), and a few small fields.
MAX_FORM_BYTES = 3 * MAX_MARKDOWN_CHARS + 16_384


def _story_id(request: Request) -> int:
    raw = str(request.path_params["story_id"])
    if not raw.isdigit():
        raise NotFound(f"no story {raw!r}")
    return int(raw)


def _search_key(request: Request) -> str:
    return f"/search?q={request.query_params.get('q', '')[:MAX_QUERY_CHARS]}&k={request.query_params.get('k', '')[:8]}"


def register_editorial_routes(app: FastAPI) -> None:
    """Add the editorial and search pages (and their ``.json`` twins) to ``app``."""
    add_page(app, "/stories", "stories.html", "stories", cached_by_path(lambda _r, store: stories_data(store)), "The editor's desk: stories by state")
    add_page(
        app, "/stories/{story_id}", "story.html", "stories", cached_by_path(lambda r, store: {**story_data(store, _story_id(r)), "error": None}),
        "One story: current version, versions, next steps",
    )  # fmt: skip
    add_page(
        app, "/stories/{story_id}/edit", "story_edit.html", "stories", cached_by_path(lambda r, store: edit_data(store, _story_id(r))),
        "A story's Markdown, to edit",
    )  # fmt: skip
    add_page(
        app, "/conversations/{conversation_id}/story", "conversation_story.html", "stories",
        cached_by_path(lambda r, store: conversation_story_data(store, r.path_params["conversation_id"])), "A conversation's stories; draft one",
    )  # fmt: skip
    add_page(
        app, "/search", "search.html", "search",
        cached_as(_search_key, lambda r, store: search_data(store, r.query_params.get("q", ""), parse_k(r.query_params.get("k")))),
        "Search the community's memory",
    )  # fmt: skip
    _register_actions(app)


def _register_actions(app: FastAPI) -> None:
    @app.post("/conversations/{conversation_id}/story", summary="Draft a story of a conversation (a new draft or a new version)", tags=["actions"])
    async def draft(request: Request, conversation_id: str) -> Response:
        """Form field ``csrf_token``. Answers JSON with the story record, or redirects to the story."""
        from villagegreen.stories.desk import save_story
        from villagegreen.stories.draft import draft_story

        if not csrf_ok(request, await read_form(request, max_bytes=MAX_FORM_BYTES)):
            return csrf_refused()
        with dashboard(request).gate.writing() as store:
            conversation_story_data(store, conversation_id)  # private or unknown: not found
            record = save_story(store, draft_story(store, conversation_id), actor=acting_user(request), note="drafted from the dashboard")
        if wants_json(request):
            return JSONResponse(clean(record.to_dict()))
        return RedirectResponse(f"/stories/{record.id}", status_code=303)

    @app.post("/stories/{story_id}/edit", summary="Save an edited story (Markdown) as a new version", tags=["actions"])
    async def edit(request: Request) -> Response:
        """Form fields ``markdown``, ``note`` (optional), ``csrf_token``. A refused edit answers 400
        with the reason (the editor page keeps the text)."""
        from villagegreen.stories.desk import edit_story

        form = await read_form(request, max_bytes=MAX_FORM_BYTES)
        if not csrf_ok(request, form):
            return csrf_refused()
        story_id = _story_id(request)
        markdown = form.get("markdown", "").replace("\r\n", "\n")
        try:
            with dashboard(request).gate.writing() as store:
                public_record(store, story_id)
                result = edit_story(store, story_id, markdown, actor=acting_user(request), note=form.get("note") or None)
        except InputError as refused:
            reason = str(refused)
            if wants_json(request):
                return JSONResponse({"error": reason}, status_code=400)
            data = read_now(request, lambda store: edit_data(store, story_id, markdown, reason))
            return render(request, "story_edit.html", data, status_code=400, page="stories")
        if wants_json(request):
            return JSONResponse(clean(result.to_dict()))
        return RedirectResponse(f"/stories/{story_id}", status_code=303)

    @app.post("/stories/{story_id}/preview", summary="Render edited Markdown safely and check it (changes nothing)", tags=["actions"])
    async def preview(request: Request) -> Response:
        """Form fields ``markdown`` and ``csrf_token``; answers the preview fragment (or JSON)."""
        form = await read_form(request, max_bytes=MAX_FORM_BYTES)
        if not csrf_ok(request, form):
            return csrf_refused()
        story_id = _story_id(request)
        markdown = form.get("markdown", "").replace("\r\n", "\n")
        data = read_now(request, lambda store: preview_data(store, story_id, markdown))
        return JSONResponse(data) if wants_json(request) else render(request, "_story_preview.html", data)

    @app.post("/stories/{story_id}/state", summary="Move a story to review, approval or back to draft", tags=["actions"])
    async def move(request: Request) -> Response:
        """Form fields ``state`` (in_review, approved, draft), ``note`` (optional), ``csrf_token``.
        Approval re-checks quoting consent and personal data; a refusal answers 400 with why."""
        from villagegreen.stories.desk import set_state

        form = await read_form(request, max_bytes=MAX_FORM_BYTES)
        if not csrf_ok(request, form):
            return csrf_refused()
        story_id = _story_id(request)
        state = form.get("state", "")
        if state not in ("in_review", "approved", "draft"):
            return JSONResponse({"error": f"state {state!r}: choose in_review, approved or draft"}, status_code=400)
        try:
            with dashboard(request).gate.writing() as store:
                public_record(store, story_id)
                record = set_state(store, story_id, state, actor=acting_user(request), note=form.get("note") or None)
        except InputError as refused:
            reason = str(refused)
            if wants_json(request):
                return JSONResponse({"error": reason}, status_code=400)
            data = read_now(request, lambda store: {**story_data(store, story_id), "error": reason})
            return render(request, "story.html", data, status_code=400, page="stories")
        if wants_json(request):
            return JSONResponse(clean(record.to_dict()))
        return RedirectResponse(f"/stories/{story_id}", status_code=303)
