"""Stripe's error responses.

Every failure the API routes can produce is raised as a `StripeError` and turned into the JSON body
and status code Stripe itself answers with, so the production client parses our errors exactly as
it parses Stripe's: `{"error": {"type", "code", "message", "param", "decline_code", ...}}`.
Like Stripe, keys that do not apply to an error are left out rather than sent as null.

Stripe stores the answer of a request made with an idempotency key once its endpoint has begun
executing, errors included; only what is refused before that (authentication, parameter
validation, idempotency conflicts, rate limits) leaves the key unused. `before_execution` marks
those errors so the app (app.py) does not store them.
"""


class StripeError(Exception):
    """An error answered to an API client as Stripe would answer it."""

    # True for a refusal Stripe makes before the endpoint runs: not stored under the request's
    # idempotency key, so a retry with that key runs the request.
    before_execution = False

    def __init__(self, status, type_, message, code=None, param=None, **extra):
        super().__init__(message)
        self.status = status
        error = {"type": type_, "message": message}
        if code:
            error["code"] = code
            # Stripe links every coded error to its documentation page.
            error["doc_url"] = "https://stripe.com/docs/error-codes/" + code.replace("_", "-")
        if param:
            error["param"] = param
        error.update({k: v for k, v in extra.items() if v is not None})
        self.error = error

    def body(self):
        return {"error": self.error}


def invalid_request(message, param=None, code=None, status=400, **extra):
    return StripeError(status, "invalid_request_error", message, code=code, param=param, **extra)


def _before_execution(error):
    error.before_execution = True
    return error


def validation_error(message, param=None, code=None):
    """A parameter Stripe rejects before the endpoint runs (its shape, not the objects' state)."""
    return _before_execution(invalid_request(message, param=param, code=code))


def resource_missing(kind, object_id, param="id"):
    return invalid_request(f"No such {kind}: '{object_id}'", param=param,
                           code="resource_missing", status=404)


def parameter_missing(param):
    return validation_error(f"Missing required param: {param}.", param=param,
                            code="parameter_missing")


def parameter_unknown(param):
    return validation_error(f"Received unknown parameter: {param}", param=param,
                            code="parameter_unknown")


def unexpected_state(message, payment_intent=None):
    return invalid_request(message, code="payment_intent_unexpected_state",
                           payment_intent=payment_intent)


def idempotency_mismatch(key):
    return _before_execution(StripeError(
        400, "idempotency_error",
        "Keys for idempotent requests can only be used with the same parameters they were first "
        f"used with. Try using a key other than '{key}' if you meant to execute a different "
        "request."))


def idempotency_in_use():
    """A request whose idempotency key is still being executed by an earlier request."""
    return _before_execution(StripeError(
        409, "idempotency_error",
        "There is currently another in-progress request using this Stripe API Key and "
        "Idempotency Key. Please try again later.", code="idempotency_key_in_use"))


def rate_limited():
    # Stripe's 429 is an invalid_request_error with code rate_limit (no error type of its own).
    return _before_execution(invalid_request(
        "Request rate limit exceeded. Learn more about rate limits here "
        "https://stripe.com/docs/rate-limits.", code="rate_limit", status=429))


def api_error():
    """Stripe's 500: something failed on its side while the request ran."""
    return StripeError(500, "api_error", "An unknown error occurred.")


def no_api_key():
    return _before_execution(invalid_request(
        "You did not provide an API key. You need to provide your API key in the Authorization "
        "header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See "
        "https://stripe.com/docs/api#authentication for details, or we can help at "
        "https://support.stripe.com/.", status=401))


def invalid_api_key(key):
    shown = key[:8] + "*" * 12 + key[-4:] if len(key) > 12 else key
    return _before_execution(invalid_request(f"Invalid API Key provided: {shown}",
                                             code="api_key_invalid", status=401))


def unrecognized_url(method, path):
    return _before_execution(invalid_request(
        f"Unrecognized request URL ({method}: {path}). Please see https://stripe.com/docs or we "
        "can help at https://support.stripe.com/.", status=404))


def balance_insufficient(message):
    return invalid_request(message, code="balance_insufficient")
