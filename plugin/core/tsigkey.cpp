// SPDX-License-Identifier: MIT
// tsigkey.cpp - see tsigkey.hpp.
#include "core/tsigkey.hpp"

#include <cctype>
#include <vector>

#include "core/error.hpp"

namespace danesmtp::core {

namespace {

constexpr std::size_t kMaxKeyText = 64 * 1024;

[[noreturn]] void bad(const std::string& what) { throw Error(ErrorCode::parse, "TSIG key: " + what); }

std::string lower(std::string s) {
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

std::string check_algorithm(std::string alg) {
    alg = lower(alg);
    if (!alg.empty() && alg.back() == '.') alg.pop_back();
    static const char* const known[] = {"hmac-md5", "hmac-sha1", "hmac-sha224", "hmac-sha256", "hmac-sha384", "hmac-sha512"};
    for (const char* k : known)
        if (alg == k) return alg + ".";
    if (alg == "hmac-md5.sig-alg.reg.int") return "hmac-md5.sig-alg.reg.int.";
    bad("unknown algorithm '" + (alg.size() > 40 ? alg.substr(0, 40) + "..." : alg) +
        "' (hmac-md5, hmac-sha1, hmac-sha224, hmac-sha256, hmac-sha384, hmac-sha512)");
}

std::string check_name(std::string name) {
    if (name.empty()) bad("no key name");
    if (name.size() > 253) bad("the key name is longer than a DNS name may be");
    for (char c : name)
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.'))
            bad("the key name holds a character other than letters, digits, '-', '_' and '.'");
    if (name.find("..") != std::string::npos || name[0] == '.') bad("the key name has an empty label");
    if (name.back() != '.') name += '.';
    return lower(name);
}

std::string check_secret(const std::string& s) {
    std::size_t pad = 0, data = 0;
    for (char c : s) {
        if (c == '=') ++pad;
        else if (pad || !(std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '/')) bad("the secret is not base64");
        else ++data;
    }
    if (data == 0 || pad > 2 || (data + pad) % 4 != 0) bad("the secret is not base64");
    return s;
}

// Tokens of a BIND configuration text: words, quoted strings, '{', '}', ';'.
struct Token {
    std::string text;
    bool quoted = false;
};

std::vector<Token> tokens(std::string_view t) {
    std::vector<Token> out;
    std::size_t i = 0;
    while (i < t.size()) {
        char c = t[i];
        if (std::isspace(static_cast<unsigned char>(c))) {
            ++i;
        } else if (c == '#' || (c == '/' && i + 1 < t.size() && t[i + 1] == '/')) {
            while (i < t.size() && t[i] != '\n') ++i;
        } else if (c == '/' && i + 1 < t.size() && t[i + 1] == '*') {
            std::size_t end = t.find("*/", i + 2);
            if (end == std::string_view::npos) bad("a comment is not closed");
            i = end + 2;
        } else if (c == '"') {
            std::size_t end = t.find('"', i + 1);
            if (end == std::string_view::npos) bad("a quoted string is not closed");
            out.push_back({std::string(t.substr(i + 1, end - i - 1)), true});
            i = end + 1;
        } else if (c == '{' || c == '}' || c == ';') {
            out.push_back({std::string(1, c), false});
            ++i;
        } else {
            std::size_t j = i;
            while (j < t.size() && !std::isspace(static_cast<unsigned char>(t[j])) && t[j] != '{' && t[j] != '}' &&
                   t[j] != ';' && t[j] != '"')
                ++j;
            out.push_back({std::string(t.substr(i, j - i)), false});
            i = j;
        }
    }
    return out;
}

}  // namespace

TsigKey parse_tsig_key(std::string_view text) {
    if (text.size() > kMaxKeyText) bad("more than 64 KiB of text");
    for (char c : text)
        if (c == '\0') bad("the text holds a NUL byte");
    std::vector<Token> tk = tokens(text);
    bool clause = false;
    for (const auto& t : tk) clause |= !t.quoted && lower(t.text) == "key";
    if (!clause) {
        // nsupdate -y: [ALG:]NAME:SECRET, on one line.
        std::string s(text);
        while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
        while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.erase(0, 1);
        std::size_t last = s.rfind(':');
        if (last == std::string::npos) bad("neither a key clause (key \"NAME\" { algorithm ...; secret \"...\"; };) nor ALG:NAME:SECRET");
        std::string secret = s.substr(last + 1), head = s.substr(0, last), alg = "hmac-md5";
        std::size_t first = head.find(':');
        if (first != std::string::npos) {
            alg = head.substr(0, first);
            head = head.substr(first + 1);
        }
        return TsigKey{check_name(head), check_algorithm(alg), check_secret(secret)};
    }
    for (std::size_t i = 0; i < tk.size(); ++i) {
        if (tk[i].quoted || lower(tk[i].text) != "key") continue;
        if (i + 2 >= tk.size() || tk[i + 2].text != "{" || tk[i + 2].quoted) bad("'key' is not followed by a name and '{'");
        TsigKey k;
        k.name = check_name(tk[i + 1].text);
        std::size_t j = i + 3;
        bool closed = false;
        for (; j < tk.size(); ++j) {
            if (!tk[j].quoted && tk[j].text == "}") {
                closed = true;
                break;
            }
            std::string word = lower(tk[j].text);
            if (j + 2 >= tk.size() || tk[j + 2].text != ";") bad("a statement in the key clause does not end with ';'");
            if (word == "algorithm") k.algorithm = check_algorithm(tk[j + 1].text);
            else if (word == "secret") k.secret = check_secret(tk[j + 1].text);
            else bad("unknown statement '" + (word.size() > 40 ? word.substr(0, 40) : word) + "' in the key clause");
            j += 2;
        }
        if (!closed) bad("the key clause is not closed with '}'");
        if (k.algorithm.empty()) bad("the key clause has no algorithm");
        if (k.secret.empty()) bad("the key clause has no secret");
        return k;
    }
    bad("no key clause");
}

}  // namespace danesmtp::core
