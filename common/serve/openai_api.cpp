#include "serve/openai_api.h"

#include <cstring>
#include <set>

#include "crypto/random.h"

namespace cci::serve {
namespace {

Error bad(const std::string& param, const std::string& message) { return make_error(ErrorCode::kInvalidInput, message, param); }

Result<double> number_in(const SecureJson& j, const char* name, double lo, double hi, double fallback) {
  if (!j.contains(name) || j[name].is_null()) return fallback;
  if (!j[name].is_number()) return bad(name, std::string(name) + " must be a number");
  const double v = j[name].get<double>();
  if (!(v >= lo && v <= hi)) return bad(name, std::string(name) + " must be in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
  return v;
}

Result<std::int64_t> integer_in(const SecureJson& j, const char* name, std::int64_t lo, std::int64_t hi, std::int64_t fallback) {
  if (!j.contains(name) || j[name].is_null()) return fallback;
  if (!j[name].is_number_integer()) return bad(name, std::string(name) + " must be an integer");
  const auto v = j[name].get<std::int64_t>();
  if (v < lo || v > hi) return bad(name, std::string(name) + " must be in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
  return v;
}

Status append_chat_messages(const SecureJson& j, CompletionRequest& r) {
  if (!j.contains("messages") || !j["messages"].is_array() || j["messages"].empty()) return bad("messages", "messages must be a non-empty array");
  const auto& msgs = j["messages"];
  for (size_t i = 0; i < msgs.size(); ++i) {
    const std::string at = "messages[" + std::to_string(i) + "]";
    const auto& m = msgs[i];
    if (!m.is_object()) return bad(at, at + " must be an object");
    if (!m.contains("role") || !m["role"].is_string()) return bad(at + ".role", at + ".role must be a string");
    const auto& role = m["role"].get_ref<const SecureString&>();
    if (role != "system" && role != "developer" && role != "user" && role != "assistant") {
      return bad(at + ".role", at + ".role must be system, developer, user or assistant");
    }
    if (!m.contains("content") || !m["content"].is_string()) return bad(at + ".content", at + ".content must be a string");
    if (!r.prompt.empty()) r.prompt += '\n';
    r.prompt += m["content"].get_ref<const SecureString&>();
  }
  r.prompt += '\n';
  return {};
}

}  // namespace

Result<CompletionRequest> parse_completion_request(std::string_view body, bool chat, const ApiLimits& limits) {
  const SecureJson j = SecureJson::parse(body.begin(), body.end(), nullptr, false);
  if (j.is_discarded()) return bad("body", "the request body is not valid JSON");
  if (!j.is_object()) return bad("body", "the request body must be a JSON object");
  CompletionRequest r;
  r.chat = chat;
  if (j.contains("model")) {
    if (!j["model"].is_string()) return bad("model", "model must be a string");
    r.model = std::string(j["model"].get_ref<const SecureString&>());
  }
  if (chat) {
    if (auto st = append_chat_messages(j, r); !st) return st.error();
  } else {
    if (!j.contains("prompt") || !j["prompt"].is_string()) return bad("prompt", "prompt must be a string (arrays of prompts are not supported)");
    r.prompt = j["prompt"].get_ref<const SecureString&>();
  }
  if (r.prompt.size() > limits.max_prompt_bytes) return bad(chat ? "messages" : "prompt", "the prompt is over the limit of " + std::to_string(limits.max_prompt_bytes) + " bytes");
  const char* tokens_field = chat && j.contains("max_completion_tokens") ? "max_completion_tokens" : "max_tokens";
  CCI_SET(r.max_tokens, integer_in(j, tokens_field, 1, limits.max_tokens, std::min<std::int64_t>(128, limits.max_tokens)));
  CCI_SET(r.temperature, number_in(j, "temperature", 0, 2, 1.0));
  CCI_SET(r.top_p, number_in(j, "top_p", 0, 1, 1.0));
  if (j.contains("top_p") && r.top_p == 0) return bad("top_p", "top_p must be above 0");
  CCI_ASSIGN(top_k, integer_in(j, "top_k", 0, 1 << 20, 0));
  r.top_k = static_cast<int>(top_k);
  CCI_ASSIGN(n, integer_in(j, "n", 1, 1, 1));
  (void)n;
  if (j.contains("seed") && !j["seed"].is_null()) {
    if (!j["seed"].is_number_integer()) return bad("seed", "seed must be an integer");
    r.seed = j["seed"].is_number_unsigned() ? j["seed"].get<std::uint64_t>() : static_cast<std::uint64_t>(j["seed"].get<std::int64_t>());
  } else {
    // No seed: a fresh random one, as OpenAI's API and vLLM do. The same prompt sampled twice
    // then gives two samples, and one user cannot predict another's; "seed" makes it reproducible.
    CCI_ASSIGN(fresh, crypto::random_bytes(sizeof r.seed));
    std::memcpy(&r.seed, fresh.data(), sizeof r.seed);
  }
  if (j.contains("stream") && !j["stream"].is_null()) {
    if (!j["stream"].is_boolean()) return bad("stream", "stream must be true or false");
    r.stream = j["stream"].get<bool>();
  }
  if (j.contains("ignore_eos") && !j["ignore_eos"].is_null()) {
    if (!j["ignore_eos"].is_boolean()) return bad("ignore_eos", "ignore_eos must be true or false");
    r.ignore_eos = j["ignore_eos"].get<bool>();
  }
  if (j.contains("stream_options") && j["stream_options"].is_object() && j["stream_options"].contains("include_usage")) {
    const auto& u = j["stream_options"]["include_usage"];
    if (!u.is_boolean()) return bad("stream_options.include_usage", "stream_options.include_usage must be true or false");
    r.include_usage = u.get<bool>();
  }
  for (const char* unsupported : {"logprobs", "tools", "functions", "suffix"}) {
    if (j.contains(unsupported) && !j[unsupported].is_null() && !(j[unsupported].is_boolean() && !j[unsupported].get<bool>())) {
      return bad(unsupported, std::string(unsupported) + " is not supported by this server");
    }
  }
  if (j.contains("echo") && j["echo"].is_boolean() && j["echo"].get<bool>()) return bad("echo", "echo is not supported by this server");
  // OpenAI's API answers 400 to an argument it does not know, and so does this server: a field
  // that would change the answer is never dropped in silence. Fields that only label a request
  // (user, metadata, store) are accepted; sampling controls this engine lacks are refused unless
  // they have their neutral value.
  static const std::set<std::string> handled = {
      "model", "prompt", "messages", "max_tokens", "max_completion_tokens", "temperature", "top_p", "top_k", "n", "seed",
      "stream", "stream_options", "ignore_eos", "logprobs", "tools", "functions", "suffix", "echo", "user", "metadata", "store"};
  static const std::set<std::string> only_neutral = {"presence_penalty", "frequency_penalty", "logit_bias", "stop", "top_logprobs",
                                                     "best_of", "response_format", "tool_choice", "parallel_tool_calls"};
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string key(it.key().begin(), it.key().end());
    if (handled.count(key) != 0) continue;
    const auto& v = it.value();
    const bool neutral = v.is_null() || (v.is_number() && v.get<double>() == 0.0) || (v.is_object() && v.empty()) ||
                         (v.is_array() && v.empty()) || (key == "best_of" && v.is_number_integer() && v.get<std::int64_t>() == 1) ||
                         (key == "response_format" && v.is_object() && v.value("type", "") == "text");
    if (only_neutral.count(key) != 0) {
      if (neutral) continue;
      return bad(key, key + " is not supported by this server");
    }
    return bad(key, "Unrecognized request argument supplied: " + key);
  }
  return r;
}

namespace {

SecureJson usage_json(const CompletionResult& r) {
  return SecureJson{{"prompt_tokens", r.prompt_tokens}, {"completion_tokens", r.completion_tokens}, {"total_tokens", r.prompt_tokens + r.completion_tokens}};
}

SecureJson envelope(const CompletionResult& r, const char* object) {
  return SecureJson{{"id", r.id}, {"object", object}, {"created", r.created}, {"model", r.model}};
}

}  // namespace

SecureString completion_body(const CompletionResult& r, bool chat) {
  SecureJson j = envelope(r, chat ? "chat.completion" : "text_completion");
  SecureJson choice{{"index", 0}, {"finish_reason", r.finish_reason}};
  if (chat) {
    choice["message"] = SecureJson{{"role", "assistant"}, {"content", r.text}};
  } else {
    choice["text"] = r.text;
    choice["logprobs"] = nullptr;
  }
  j["choices"] = SecureJson::array({std::move(choice)});
  j["usage"] = usage_json(r);
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

SecureString stream_event(const CompletionResult& r, bool chat, std::string_view delta, bool first, bool last, bool usage) {
  SecureJson j = envelope(r, chat ? "chat.completion.chunk" : "text_completion");
  SecureJson choice{{"index", 0}, {"finish_reason", last ? SecureJson(r.finish_reason) : SecureJson(nullptr)}};
  if (chat) {
    SecureJson d = SecureJson::object();
    if (first) d["role"] = "assistant";
    if (!delta.empty() || !last) d["content"] = SecureString(delta.data(), delta.size());
    choice["delta"] = std::move(d);
  } else {
    choice["text"] = SecureString(delta.data(), delta.size());
    choice["logprobs"] = nullptr;
  }
  j["choices"] = SecureJson::array({std::move(choice)});
  if (last && usage) j["usage"] = usage_json(r);
  SecureString out = "data: ";
  out += j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  out += "\n\n";
  return out;
}

std::string stream_done() { return "data: [DONE]\n\n"; }

std::string models_body(const std::string& model, std::int64_t created) {
  nlohmann::json j{{"object", "list"}, {"data", nlohmann::json::array({{{"id", model}, {"object", "model"}, {"created", created}, {"owned_by", "cci"}}})}};
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string error_body(const std::string& message, const std::string& type, const std::string& param) {
  nlohmann::json e{{"message", message}, {"type", type}, {"param", param.empty() ? nlohmann::json(nullptr) : nlohmann::json(param)}, {"code", nullptr}};
  return nlohmann::json{{"error", e}}.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace cci::serve
