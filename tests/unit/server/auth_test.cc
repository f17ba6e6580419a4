#include "server/auth.h"

#include <gtest/gtest.h>

#include "server/api_error.h"
#include "server/cors.h"
#include "server/router.h"
#include "server/sse.h"
#include "turbolm/error.h"

namespace turbolm::server {
namespace {

TEST(Auth, BearerKeys) {
  ApiKeyAuth off({});
  EXPECT_TRUE(off.allows(""));
  ApiKeyAuth auth({"token", "other"});
  EXPECT_TRUE(auth.allows("Bearer token"));
  EXPECT_TRUE(auth.allows("bearer other"));
  EXPECT_FALSE(auth.allows(""));
  EXPECT_FALSE(auth.allows("Bearer"));
  EXPECT_FALSE(auth.allows("Bearer tok"));
  EXPECT_FALSE(auth.allows("Bearer tokenx"));
  EXPECT_FALSE(auth.allows("Basic token"));
  EXPECT_FALSE(auth.allows("token"));
}

TEST(Auth, ConstantTimeEqual) {
  EXPECT_TRUE(constant_time_equal("abc", "abc"));
  EXPECT_TRUE(constant_time_equal("", ""));
  EXPECT_FALSE(constant_time_equal("abc", "abd"));
  EXPECT_FALSE(constant_time_equal("abc", "ab"));
  EXPECT_FALSE(constant_time_equal("", "a"));
  EXPECT_FALSE(constant_time_equal(std::string_view("a\0", 2), "a"));
}

TEST(Auth, HealthIsOpen) {
  EXPECT_FALSE(path_needs_auth("/health"));
  EXPECT_TRUE(path_needs_auth("/v1/models"));
  EXPECT_TRUE(path_needs_auth("/metrics"));
}

TEST(Cors, OffByDefaultAndOriginMatching) {
  ServerConfig config;
  EXPECT_TRUE(cors_headers(config, "http://a", false).empty());
  config.allow_origins = {"http://a"};
  EXPECT_TRUE(cors_headers(config, "http://b", false).empty());
  auto h = cors_headers(config, "http://a", true, "authorization, x-stainless-os");
  ASSERT_FALSE(h.empty());
  EXPECT_EQ(h[0].second, "http://a");
  bool echoed = false;
  for (auto& [k, v] : h) echoed |= k == "Access-Control-Allow-Headers" && v == "authorization, x-stainless-os";
  EXPECT_TRUE(echoed);
  config.allow_origins = {"*"};
  EXPECT_EQ(cors_headers(config, "http://z", false)[0].second, "*");
}

// Preflights are judged as Starlette's CORSMiddleware judges them (LMDeploy and vLLM serve through it).
TEST(Cors, PreflightRefusalNamesWhatIsDisallowed) {
  ServerConfig config;
  config.allow_origins = {"http://a"};
  EXPECT_EQ(preflight_refusal(config, "http://a", "POST", "authorization, x-stainless-os"), "");  // '*' defaults
  EXPECT_EQ(preflight_refusal(config, "http://b", "POST", ""), "Disallowed CORS origin");
  config.allow_methods = {"get", "POST"};
  config.allow_headers = {"Authorization"};
  EXPECT_EQ(preflight_refusal(config, "http://a", "GET", "authorization,Content-Type"), "")
      << "case-insensitive, and Content-Type is CORS-safelisted";
  EXPECT_EQ(preflight_refusal(config, "http://a", "DELETE", "x-other"), "Disallowed CORS method, headers");
  EXPECT_EQ(preflight_refusal(config, "http://b", "PUT", ""), "Disallowed CORS origin, method");
}

TEST(Router, KnownUnknownAndMethod) {
  EXPECT_NE(find_route("POST", "/v1/chat/completions").route, nullptr);
  EXPECT_NE(find_route("HEAD", "/health").route, nullptr);
  RouteMatch wrong_method = find_route("GET", "/v1/chat/completions");
  EXPECT_EQ(wrong_method.route, nullptr);
  EXPECT_TRUE(wrong_method.path_known);
  RouteMatch unknown = find_route("GET", "/v2/nothing");
  EXPECT_EQ(unknown.route, nullptr);
  EXPECT_FALSE(unknown.path_known);
}

// GET /v1/models/{id}: the id is the whole rest of the path (model names carry slashes), and never empty.
TEST(Router, TrailingParameterTakesTheRestOfThePath) {
  RouteMatch one = find_route("GET", "/v1/models/org/name");
  ASSERT_NE(one.route, nullptr);
  EXPECT_EQ(one.param, "org/name");
  EXPECT_EQ(one.pattern, "/v1/models/{model}");
  EXPECT_EQ(find_route("GET", "/v1/models").param, "");
  EXPECT_EQ(find_route("GET", "/v1/models").pattern, "/v1/models");
  EXPECT_FALSE(find_route("GET", "/v1/models/").path_known);
  RouteMatch post = find_route("POST", "/v1/models/x");
  EXPECT_EQ(post.route, nullptr);
  EXPECT_TRUE(post.path_known);
  EXPECT_EQ(post.pattern, "/v1/models/{model}");
}

TEST(Router, AllowedMethodsForA405) {
  EXPECT_EQ(allowed_methods("/v1/models"), "GET, HEAD");
  EXPECT_EQ(allowed_methods("/v1/models/x"), "GET, HEAD");
  EXPECT_EQ(allowed_methods("/v1/chat/completions"), "POST");
  EXPECT_EQ(allowed_methods("/v2/nothing"), "");
}

TEST(Router, PercentDecode) {
  EXPECT_EQ(percent_decode("org%2Fname"), "org/name");
  EXPECT_EQ(percent_decode("org%2fname%20x"), "org/name x");
  EXPECT_EQ(percent_decode("a+b"), "a+b");
  EXPECT_EQ(percent_decode("100%"), "100%");
  EXPECT_EQ(percent_decode("%zz%4"), "%zz%4");
  EXPECT_EQ(percent_decode("%41%"), "A%");
}

// RFC 9112 3.2.2: the absolute form of a target routes like the origin form (it used to be a 404).
TEST(Router, TargetPathOfOriginAndAbsoluteForms) {
  EXPECT_EQ(target_path("/v1/models"), "/v1/models");
  EXPECT_EQ(target_path("/v1/models?x=1"), "/v1/models");
  EXPECT_EQ(target_path("http://127.0.0.1:23333/v1/models"), "/v1/models");
  EXPECT_EQ(target_path("https://host/v1/chat/completions?a=b"), "/v1/chat/completions");
  EXPECT_EQ(target_path("http://host"), "/");
  EXPECT_EQ(target_path("http://host?x"), "/");
  EXPECT_EQ(target_path("*"), "*");
}

TEST(Sse, FramingAndInvalidUtf8) {
  EXPECT_EQ(sse_event({{"a", 1}}), "data: {\"a\":1}\n\n");
  EXPECT_EQ(sse_done(), "data: [DONE]\n\n");
  EXPECT_NO_THROW(sse_event({{"t", std::string("\xe4\xb8")}}));  // half a character from a single token
}

TEST(ApiErrors, BodyShapeAndEngineMapping) {
  nlohmann::json body = ApiError::invalid_request("bad", "temperature").body();
  EXPECT_EQ(body["error"]["message"], "bad");
  EXPECT_EQ(body["error"]["type"], "invalid_request_error");
  EXPECT_EQ(body["error"]["param"], "temperature");
  EXPECT_TRUE(body["error"]["code"].is_null());
  EXPECT_EQ(to_api_error(Error(ErrorCode::kInvalidArgument, "too long")).status(), 400);
  EXPECT_EQ(to_api_error(Error(ErrorCode::kUnsupported, "x")).status(), 400);
  EXPECT_EQ(to_api_error(Error(ErrorCode::kNotFound, "x")).status(), 404);
  EXPECT_EQ(to_api_error(Error(ErrorCode::kOutOfMemory, "x")).status(), 503);
  EXPECT_EQ(to_api_error(Error(ErrorCode::kInternal, "x")).status(), 500);
  EXPECT_EQ(to_api_error(std::runtime_error("x")).status(), 500);
}

}  // namespace
}  // namespace turbolm::server
