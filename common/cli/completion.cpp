#include "cli/completion.h"

#include <sstream>
#include <vector>

namespace cci::cli {
namespace {

struct Flag {
  std::string name;  // "--signature" (or "-x" when the option has no long name)
  std::string description;
  bool takes_value = false;
  std::vector<std::string> choices;  // from an IsMember check ("TEXT:{a,b,c}")
};

struct Node {
  std::string path;  // "" for the tool, "manifest build" for a nested subcommand
  std::vector<std::pair<std::string, std::string>> subcommands;  // name, description
  std::vector<Flag> flags;
  bool positional = false;
  std::vector<std::string> positional_choices;  // a positional with an IsMember check
};

bool hidden(const std::string& group) { return group.empty(); }

std::vector<std::string> choices_of(const std::string& type_name) {
  std::vector<std::string> out;
  const auto open = type_name.find(":{");
  const auto close = type_name.rfind('}');
  if (open == std::string::npos || close == std::string::npos || close < open) return out;
  std::string item;
  for (char c : type_name.substr(open + 2, close - open - 2)) {
    if (c == ',') {
      out.push_back(item);
      item.clear();
    } else {
      item += c;
    }
  }
  if (!item.empty()) out.push_back(item);
  return out;
}

void collect(const CLI::App& app, const std::string& path, std::vector<Node>& nodes) {
  Node node;
  node.path = path;
  for (const CLI::Option* opt : app.get_options()) {
    if (opt->get_positional() && !opt->nonpositional()) {
      node.positional = true;
      const auto c = choices_of(opt->get_type_name());
      node.positional_choices.insert(node.positional_choices.end(), c.begin(), c.end());
      continue;
    }
    if (hidden(opt->get_group())) continue;
    Flag f;
    if (!opt->get_lnames().empty()) {
      f.name = "--" + opt->get_lnames().front();
    } else if (!opt->get_snames().empty()) {
      f.name = "-" + opt->get_snames().front();
    } else {
      continue;
    }
    f.description = opt->get_description();
    f.takes_value = opt->get_items_expected_max() > 0;
    if (f.takes_value) f.choices = choices_of(opt->get_type_name());
    node.flags.push_back(std::move(f));
  }
  std::vector<const CLI::App*> subs = app.get_subcommands([](const CLI::App*) { return true; });
  for (const CLI::App* sub : subs) {
    if (hidden(sub->get_group())) continue;
    node.subcommands.emplace_back(sub->get_name(), sub->get_description());
  }
  nodes.push_back(node);
  for (const CLI::App* sub : subs) {
    if (hidden(sub->get_group())) continue;
    collect(*sub, path.empty() ? sub->get_name() : path + " " + sub->get_name(), nodes);
  }
}

std::string key_of(const std::string& path) { return path.empty() ? "." : path; }

std::string ident_of(const std::string& tool) {
  std::string s = "_";
  for (char c : tool) s += (c == '-' ? '_' : c);
  return s;
}

// Single-quoted for a shell word ('...' with ' written as '\'').
std::string sq(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else if (c == '\n') {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out + "'";
}

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : " ") + x;
  return s;
}

// The words of one subcommand path as a `case` table (portable to zsh's bash emulation, whose
// associative arrays keep the quotes of their keys).
std::string bash_function(const std::vector<Node>& nodes, const std::string& tool) {
  const std::string fn = ident_of(tool);
  std::ostringstream o;
  o << fn << "_spec() {\n  case \"$1|$2\" in\n";
  for (const Node& n : nodes) {
    std::vector<std::string> subs, flags, vflags;
    for (const auto& s : n.subcommands) subs.push_back(s.first);
    const std::string k = key_of(n.path);
    for (const Flag& f : n.flags) {
      flags.push_back(f.name);
      if (f.takes_value) vflags.push_back(f.name);
      if (!f.choices.empty()) o << "    " << sq(k + "|choices " + f.name) << ") echo " << sq(join(f.choices)) << " ;;\n";
    }
    if (!subs.empty()) o << "    " << sq(k + "|subs") << ") echo " << sq(join(subs)) << " ;;\n";
    o << "    " << sq(k + "|flags") << ") echo " << sq(join(flags)) << " ;;\n";
    if (!vflags.empty()) o << "    " << sq(k + "|vflags") << ") echo " << sq(join(vflags)) << " ;;\n";
    o << "    " << sq(k + "|positional") << ") echo "
      << (n.positional_choices.empty() ? (n.positional ? "1" : "0") : sq(join(n.positional_choices))) << " ;;\n";
  }
  o << "  esac\n}\n";
  o << fn << "() {\n"
    << "  local cur=\"${COMP_WORDS[COMP_CWORD]}\" prev=\"${COMP_WORDS[COMP_CWORD-1]}\"\n"
    << "  local path=. i w skip=0 subs vflags\n"
    << "  local gflags=\"$(" << fn << "_spec . vflags)\"\n"
    << "  for ((i = 1; i < COMP_CWORD; i++)); do\n"
    << "    w=\"${COMP_WORDS[i]}\"\n"
    << "    if ((skip)); then skip=0; continue; fi\n"
    << "    subs=\"$(" << fn << "_spec \"$path\" subs)\"\n"
    << "    case \" $subs \" in *\" $w \"*) if [[ $path == . ]]; then path=\"$w\"; else path=\"$path $w\"; fi; continue ;; esac\n"
    << "    vflags=\"$(" << fn << "_spec \"$path\" vflags) $gflags\"\n"
    << "    case \" $vflags \" in *\" $w \"*) skip=1 ;; esac\n"
    << "  done\n"
    << "  vflags=\"$(" << fn << "_spec \"$path\" vflags) $gflags\"\n"
    << "  if [[ $cur != -* ]]; then\n"
    << "    case \" $vflags \" in *\" $prev \"*)\n"
    << "      local c=\"$(" << fn << "_spec \"$path\" \"choices $prev\")\"\n"
    << "      [[ -n $c ]] || c=\"$(" << fn << "_spec . \"choices $prev\")\"\n"
    << "      if [[ -n $c ]]; then COMPREPLY=($(compgen -W \"$c\" -- \"$cur\")); else COMPREPLY=($(compgen -f -- \"$cur\")); "
       "compopt -o filenames 2>/dev/null; fi\n"
    << "      return 0 ;;\n"
    << "    esac\n"
    << "  fi\n"
    << "  if [[ $cur == -* ]]; then\n"
    << "    local all=\"$(" << fn << "_spec \"$path\" flags)\"\n"
    << "    [[ $path == . ]] || all=\"$all $(" << fn << "_spec . flags)\"\n"
    << "    COMPREPLY=($(compgen -W \"$all\" -- \"$cur\"))\n"
    << "    return 0\n"
    << "  fi\n"
    << "  COMPREPLY=($(compgen -W \"$(" << fn << "_spec \"$path\" subs)\" -- \"$cur\"))\n"
    << "  local p=\"$(" << fn << "_spec \"$path\" positional)\"\n"
    << "  case \"$p\" in\n"
    << "    0) ;;\n"
    << "    1) COMPREPLY+=($(compgen -f -- \"$cur\")); compopt -o filenames 2>/dev/null ;;\n"
    << "    *) COMPREPLY+=($(compgen -W \"$p\" -- \"$cur\")) ;;\n"
    << "  esac\n"
    << "  return 0\n"
    << "}\n";
  return o.str();
}

std::string bash_script(const std::vector<Node>& nodes, const std::string& tool) {
  return "# bash completion for " + tool + " (made by `" + tool +
         " completion bash`; its flags, so it cannot lag them)\n" + bash_function(nodes, tool) + "complete -F " +
         ident_of(tool) + " " + tool + "\n";
}

// zsh: the bash function through zsh's bash-completion emulation (bashcompinit). The file works
// both as an autoloaded #compdef function in $fpath and when sourced.
std::string zsh_script(const std::vector<Node>& nodes, const std::string& tool) {
  const std::string fn = ident_of(tool);
  return "#compdef " + tool + "\n# zsh completion for " + tool + " (made by `" + tool +
         " completion zsh`; it runs the bash completion through bashcompinit)\n"
         "(( $+functions[bashcompinit] )) || autoload -U +X bashcompinit\n"
         "(( $+functions[_bash_complete] )) || bashcompinit\n" +
         bash_function(nodes, tool) + "complete -F " + fn + " " + tool +
         "\n"
         "# Loaded from $fpath by the first <TAB>: answer that one too.\n"
         "if [[ ${zsh_eval_context[-1]} == loadautofunc ]]; then _bash_complete -F " +
         fn + " \"$@\"; fi\n";
}

std::string fish_script(const std::vector<Node>& nodes, const std::string& tool) {
  std::ostringstream o;
  o << "# fish completion for " << tool << " (made by `" << tool << " completion fish`)\n"
    << "complete -c " << tool << " -e\n";
  for (const Node& n : nodes) {
    // Condition: the words seen so far name exactly this subcommand path.
    std::string cond;
    if (n.path.empty()) {
      cond = "__fish_use_subcommand";
    } else {
      std::vector<std::string> parts;
      std::istringstream in(n.path);
      for (std::string p; in >> p;) parts.push_back(p);
      cond = "__fish_seen_subcommand_from " + parts.back();
      if (parts.size() > 1) cond = "__fish_seen_subcommand_from " + parts.front() + "; and " + cond;
      if (!n.subcommands.empty()) {
        std::vector<std::string> names;
        for (const auto& s : n.subcommands) names.push_back(s.first);
        cond += "; and not __fish_seen_subcommand_from " + join(names);
      }
    }
    for (const auto& [name, desc] : n.subcommands) {
      o << "complete -c " << tool << " -f -n " << sq(cond) << " -a " << sq(name) << " -d " << sq(desc) << "\n";
    }
    if (!n.positional_choices.empty()) {
      o << "complete -c " << tool << " -f -n " << sq(cond) << " -a " << sq(join(n.positional_choices)) << "\n";
    }
    const std::string flag_cond = n.path.empty() ? "" : " -n " + sq(cond);
    for (const Flag& f : n.flags) {
      o << "complete -c " << tool << flag_cond;
      if (f.name.rfind("--", 0) == 0) {
        o << " -l " << f.name.substr(2);
      } else {
        o << " -s " << f.name.substr(1);
      }
      if (f.takes_value) o << (f.choices.empty() ? " -r -F" : " -x -a " + sq(join(f.choices)));
      o << " -d " << sq(f.description) << "\n";
    }
  }
  return o.str();
}

}  // namespace

std::string completion_script(const CLI::App& app, const std::string& tool, const std::string& shell) {
  std::vector<Node> nodes;
  collect(app, "", nodes);
  if (shell == "zsh") return zsh_script(nodes, tool);
  if (shell == "fish") return fish_script(nodes, tool);
  return bash_script(nodes, tool);
}

}  // namespace cci::cli
