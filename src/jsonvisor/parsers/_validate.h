/* One strict RFC 8259 validator, instantiated per string kind by _speedups.c:
 * define VCHAR (the code unit type) and VNAME (the function name) before including.
 * Returns 0 (not valid), 1 (valid), or 2 (valid, but an integer has more than 18 digits
 * and must be loaded by an exact loader: orjson would turn it into a float). */

static int
VNAME(const void *vdata, Py_ssize_t n, Py_ssize_t max_depth, Py_ssize_t max_number_length,
      char *stack)
{
    const VCHAR *s = (const VCHAR *)vdata;
    Py_ssize_t i = 0, depth = 0, start;
    int exact = 0; /* an integer too long for a 64-bit loader (see fastpath.strict_loads) */
    Py_UCS4 c;
#define V_WS(ch) ((ch) == ' ' || (ch) == '\t' || (ch) == '\n' || (ch) == '\r')
#define V_SKIP_WS while (i < n && V_WS(s[i])) i++
#define V_DIGIT(ch) ((ch) >= '0' && (ch) <= '9')
#define V_HEX(ch) (V_DIGIT(ch) || ((ch) >= 'a' && (ch) <= 'f') || ((ch) >= 'A' && (ch) <= 'F'))
#define V_STRING                                                                            \
    for (;;) {                                                                              \
        while (i < n && s[i] != '"' && s[i] != '\\' && s[i] >= 0x20) i++;                 \
        if (i >= n || s[i] < 0x20) return 0;                                                \
        if (s[i] == '"') { i++; break; }                                                    \
        if (i + 1 >= n) return 0;                                                           \
        c = s[i + 1];                                                                       \
        if (c == 'u') {                                                                     \
            if (i + 5 >= n || !V_HEX(s[i + 2]) || !V_HEX(s[i + 3]) || !V_HEX(s[i + 4]) ||   \
                !V_HEX(s[i + 5]))                                                           \
                return 0;                                                                   \
            i += 6;                                                                         \
        }                                                                                   \
        else if (c == '"' || c == '\\' || c == '/' || c == 'b' || c == 'f' || c == 'n' ||   \
                 c == 'r' || c == 't')                                                      \
            i += 2;                                                                         \
        else                                                                                \
            return 0;                                                                       \
    }

value:
    V_SKIP_WS;
    if (i >= n)
        return 0;
    c = s[i];
    if (c == '{' || c == '[') {
        if (depth >= max_depth)
            return 0;
        stack[depth++] = c == '{' ? '}' : ']';
        i++;
        V_SKIP_WS;
        if (i < n && s[i] == (VCHAR)stack[depth - 1]) {
            depth--;
            i++;
            goto after_value;
        }
        if (c == '{')
            goto key;
        goto value;
    }
    if (c == '"') {
        i++;
        V_STRING
        goto after_value;
    }
    if (c == 't') {
        if (i + 3 >= n || s[i + 1] != 'r' || s[i + 2] != 'u' || s[i + 3] != 'e') return 0;
        i += 4;
        goto after_value;
    }
    if (c == 'f') {
        if (i + 4 >= n || s[i + 1] != 'a' || s[i + 2] != 'l' || s[i + 3] != 's' ||
            s[i + 4] != 'e')
            return 0;
        i += 5;
        goto after_value;
    }
    if (c == 'n') {
        if (i + 3 >= n || s[i + 1] != 'u' || s[i + 2] != 'l' || s[i + 3] != 'l') return 0;
        i += 4;
        goto after_value;
    }
    start = i;
    if (c == '-')
        i++;
    if (i >= n || !V_DIGIT(s[i]))
        return 0;
    if (s[i] == '0')
        i++;
    else
        while (i < n && V_DIGIT(s[i])) i++;
    if (i - start > 18 && (i >= n || (s[i] != '.' && s[i] != 'e' && s[i] != 'E')))
        exact = 1;
    if (i < n && s[i] == '.') {
        i++;
        if (i >= n || !V_DIGIT(s[i]))
            return 0;
        while (i < n && V_DIGIT(s[i])) i++;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            i++;
        if (i >= n || !V_DIGIT(s[i]))
            return 0;
        while (i < n && V_DIGIT(s[i])) i++;
    }
    if (i - start > max_number_length)
        return 0;
    goto after_value;

key:
    V_SKIP_WS;
    if (i >= n || s[i] != '"')
        return 0;
    i++;
    V_STRING
    V_SKIP_WS;
    if (i >= n || s[i] != ':')
        return 0;
    i++;
    goto value;

after_value:
    V_SKIP_WS;
    if (depth == 0)
        return i == n ? 1 + exact : 0;
    if (i >= n)
        return 0;
    c = s[i];
    if (c == ',') {
        i++;
        if (stack[depth - 1] == '}')
            goto key;
        goto value;
    }
    if (c == (Py_UCS4)stack[depth - 1]) {
        depth--;
        i++;
        goto after_value;
    }
    return 0;
#undef V_WS
#undef V_SKIP_WS
#undef V_DIGIT
#undef V_HEX
#undef V_STRING
}

#undef VKIND
#undef VCHAR
#undef VNAME
